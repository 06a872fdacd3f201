// swift-tools-version:6.1
import Foundation
import PackageDescription

// Only the kernels (GEMM, activations, losses, optimizers, vector math) are built for the target
// CPU with unchecked arithmetic: without a target CPU, SIMD `addingProduct` lowers to scalar
// `fmaf` calls (about 100x slower). Everything that reads user input (spec, check, plan, data,
// command line) is built at plain -O with every overflow and bounds check on.
let kernelFlags: [SwiftSetting] = [
  .unsafeFlags(["-target-cpu", "native"]),
  .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]

let package = Package(
  name: "mlpc",
  platforms: [.macOS(.v15)],
  products: [
    .library(name: "MLPCore", targets: ["MLPCore"]),
    .library(name: "MLPKernels", targets: ["MLPKernels"]),
    .executable(name: "mlpc", targets: ["mlpc"]),
  ],
  traits: [
    .trait(
      name: "OpenBLAS",
      description:
        "Link the system OpenBLAS (libopenblas-dev) as a second GEMM backend and test oracle"),
    .default(enabledTraits: []),
  ],
  dependencies: [
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
  ],
  targets: [
    .systemLibrary(
      name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]),
    .target(
      name: "MLPKernels",
      dependencies: [.target(name: "COpenBLAS", condition: .when(traits: ["OpenBLAS"]))],
      swiftSettings: kernelFlags
    ),
    .target(
      name: "MLPCore",
      dependencies: ["MLPKernels", .product(name: "Yams", package: "Yams")]
    ),
    .executableTarget(
      name: "mlpc",
      dependencies: [
        "MLPCore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .target(name: "MLPCTestSupport", dependencies: ["MLPCore"]),
    .testTarget(name: "MLPCoreTests", dependencies: ["MLPCore", "MLPKernels", "MLPCTestSupport"]),
    .testTarget(name: "mlpcCLITests", dependencies: ["mlpc", "MLPCTestSupport"]),
  ],
  swiftLanguageModes: [.v6]
)

// Fuzz targets (libFuzzer), only when asked for: `MLPC_FUZZ=1` and `-sanitize=fuzzer,address`
// (scripts/fuzz.sh). Their `main` starts libFuzzer through FuzzDriver.
if ProcessInfo.processInfo.environment["MLPC_FUZZ"] != nil {
  package.targets.append(.target(name: "FuzzDriver", path: "Fuzz/FuzzDriver"))
  for name in ["FuzzSpec", "FuzzCSV"] {
    package.targets.append(
      .executableTarget(
        name: name, dependencies: ["MLPCore", "FuzzDriver"], path: "Fuzz/\(name)"))
  }
}

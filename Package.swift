// swift-tools-version:6.1
import PackageDescription

// Kernels need a real target CPU: without one, SIMD `addingProduct` lowers to scalar `fmaf`
// calls (about 100x slower). `native` compiles for the building machine.
let kernelFlags: [SwiftSetting] = [
  .unsafeFlags(["-target-cpu", "native"]),
  .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]

let package = Package(
  name: "mlpc",
  platforms: [.macOS(.v15)],
  products: [
    .library(name: "MLPCore", targets: ["MLPCore"]),
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
      name: "MLPCore",
      dependencies: [
        .product(name: "Yams", package: "Yams"),
        .target(name: "COpenBLAS", condition: .when(traits: ["OpenBLAS"])),
      ],
      swiftSettings: kernelFlags
    ),
    .executableTarget(
      name: "mlpc",
      dependencies: [
        "MLPCore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .target(name: "MLPCTestSupport", dependencies: ["MLPCore"]),
    .testTarget(name: "MLPCoreTests", dependencies: ["MLPCore", "MLPCTestSupport"]),
    .testTarget(name: "mlpcCLITests", dependencies: ["mlpc", "MLPCTestSupport"]),
  ],
  swiftLanguageModes: [.v6]
)

// swift-tools-version:6.1
import Foundation
import PackageDescription

// Only the kernels (GEMM, activations, losses, optimizers, vector math) are built for a vector
// instruction set with unchecked arithmetic: without one, SIMD `addingProduct` lowers to scalar
// `fmaf` calls (about 100x slower). Everything that reads user input (spec, check, plan, data,
// command line) is built at plain -O with every overflow and bounds check on.
// On x86-64 the kernels target the x86-64-v3 baseline (AVX2 + FMA), so a binary runs on every
// such CPU, and MLPKernelsAVX512 targets x86-64-v4; MLPKernels enters it only on CPUs with
// AVX-512 (KernelISA.swift). swiftc takes no `-target-cpu x86-64-v3`; Swift code generation
// follows the Clang importer's `-march` (and `-mprefer-vector-width`: without 512, LLVM
// vectorises the element-wise loops of x86-64-v4 code with 256-bit vectors). Elsewhere the
// kernels are built for the host CPU.
func kernelFlags(_ level: String, preferring width: Int = 256) -> [SwiftSetting] {
  #if arch(x86_64)
    let target = ["-Xcc", "-march=\(level)", "-Xcc", "-mprefer-vector-width=\(width)"]
  #else
    let target = ["-target-cpu", "native"]
  #endif
  return [
    .unsafeFlags(target),
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
  ]
}

/// Dependencies of `mlpc serve` only, built with the Serve trait.
let serve = TargetDependencyCondition.when(traits: ["Serve"])

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
      name: "MPI",
      description:
        "Data-parallel training across processes over the system MPI (libopenmpi-dev): mpirun -n N mlpc run"
    ),
    .trait(
      name: "OpenBLAS",
      description:
        "Link the system OpenBLAS (libopenblas-dev) as a second GEMM backend and test oracle"),
    .trait(
      name: "Serve",
      description:
        "mlpc serve: models behind HTTP (Hummingbird, Prometheus metrics); on by default, off in the OpenBLAS and MPI builds (`--traits` replaces the defaults)"
    ),
    .default(enabledTraits: ["Serve"]),
  ],
  dependencies: [
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
  ],
  targets: [
    .systemLibrary(
      name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
      providers: [.apt(["libopenmpi-dev"])]),
    // Compiled empty unless the MPI trait is on, so a build without it needs no MPI headers.
    .target(
      name: "CMPIShim",
      dependencies: [.target(name: "CMPI", condition: .when(traits: ["MPI"]))],
      cSettings: [.define("MLPC_WITH_MPI", .when(traits: ["MPI"]))]),
    .systemLibrary(
      name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]),
    // Thread placement for the worker pool (sched_getcpu, pthread_setaffinity_np).
    .target(name: "CThreads"),
    // Guarded file mappings: a data file truncated while mapped is an error, not SIGBUS.
    .target(name: "CMapping"),
    // The worker pool and its policy for sharing a busy core: checked code (plain -O, every
    // overflow and bounds check on), kept out of the kernels' unchecked targets.
    .target(name: "MLPThreads", dependencies: ["CThreads"]),
    .target(name: "MLPKernelsGeneric", swiftSettings: kernelFlags("x86-64-v3")),
    .target(
      name: "MLPKernelsAVX512", dependencies: ["MLPKernelsGeneric"],
      swiftSettings: kernelFlags("x86-64-v4", preferring: 512)),
    .target(
      name: "MLPKernels",
      dependencies: [
        "MLPKernelsGeneric", "MLPKernelsAVX512", "MLPThreads",
        .target(name: "COpenBLAS", condition: .when(traits: ["OpenBLAS"])),
      ],
      swiftSettings: kernelFlags("x86-64-v3")
    ),
    .target(
      name: "MLPCore",
      dependencies: [
        "MLPKernels", "ONNXProto", "CMapping", .product(name: "Yams", package: "Yams"),
        .target(name: "CMPIShim", condition: .when(traits: ["MPI"])),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ]
    ),
    // The ONNX messages, generated from onnx.proto by scripts/generate_onnx_proto.sh.
    .target(
      name: "ONNXProto",
      dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
      exclude: ["onnx.proto"]),
    // The HTTP server of `mlpc serve` (the Serve trait; compiled empty without it).
    .target(
      name: "MLPServe",
      dependencies: [
        "MLPCore",
        .product(name: "Hummingbird", package: "hummingbird", condition: serve),
        .product(name: "Prometheus", package: "swift-prometheus", condition: serve),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle", condition: serve),
        .product(name: "Logging", package: "swift-log", condition: serve),
        .product(name: "NIOCore", package: "swift-nio", condition: serve),
        .product(name: "NIOPosix", package: "swift-nio", condition: serve),
        .product(name: "NIOHTTP1", package: "swift-nio", condition: serve),
        .product(name: "HummingbirdCore", package: "hummingbird", condition: serve),
        .product(name: "NIOHTTPTypes", package: "swift-nio-extras", condition: serve),
        .product(name: "HTTPTypes", package: "swift-http-types", condition: serve),
      ]),
    .executableTarget(
      name: "mlpc",
      dependencies: [
        "MLPCore",
        .target(name: "MLPServe", condition: serve),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .target(name: "MLPCTestSupport", dependencies: ["MLPCore"]),
    .testTarget(
      name: "MLPCoreTests",
      dependencies: ["MLPCore", "MLPKernels", "MLPCTestSupport"]),
    // Mirrors the kernel targets: GEMM, vector math, activations per ISA, the worker pool.
    .testTarget(
      name: "MLPKernelsTests",
      dependencies: ["MLPKernels", "MLPKernelsAVX512", "MLPThreads", "CThreads", "MLPCore"]),
    .testTarget(name: "mlpcCLITests", dependencies: ["mlpc", "MLPCTestSupport"]),
    .testTarget(
      name: "MLPServeTests",
      dependencies: [
        "MLPCore", "MLPCTestSupport", .target(name: "MLPServe", condition: serve),
        .product(name: "Yams", package: "Yams"),
      ]),
  ],
  swiftLanguageModes: [.v6]
)

// Fuzz targets (libFuzzer), only when asked for: `MLPC_FUZZ=1` and `-sanitize=fuzzer,address`
// (scripts/fuzz.sh). Their `main` starts libFuzzer through FuzzDriver.
if ProcessInfo.processInfo.environment["MLPC_FUZZ"] != nil {
  package.targets.append(.target(name: "FuzzDriver", path: "Fuzz/FuzzDriver"))
  for name in ["FuzzSpec", "FuzzCSV", "FuzzModel"] {
    package.targets.append(
      .executableTarget(
        name: name, dependencies: ["MLPCore", "FuzzDriver"], path: "Fuzz/\(name)"))
  }
}

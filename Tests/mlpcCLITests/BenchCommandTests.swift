// `mlpc bench` end to end: its reports and its GEMM floor (behaviour only; speed is measured by
// bench/run.sh, never asserted in tests).

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct BenchCommandTests {
  @Test func stepReportAsJSON() throws {
    let result = try CommandRunner.mlpc([
      "bench", "specs/xor.yaml", "--format", "json", "--epochs", "2",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    // 2-8-2, batch 4: forward 192 + 144, backward 160 + 264, update 4 × 42 parameters.
    #expect(report?["flops_per_step"] as? Int == 928)
    #expect((report?["ops"] as? [[String: Any]])?.count == 6)
    #expect((report?["epoch"] as? [String: Any])?["samples"] as? Int == 2)
    #expect(((report?["step"] as? [String: Any])?["median_s"] as? Double ?? 0) > 0)
    // The peak is measured with the widest FMA the CPU has, and the ISA is named.
    let isa = report?["isa"] as? String
    #expect(["avx512", "avx2", "sse"].contains(isa ?? ""))
    #expect(report?["peak_vector_floats"] as? Int == (isa == "avx512" ? 16 : 8))
    #expect((report?["peak_gflops"] as? Double ?? 0) > 0)
    let kernels = report?["kernel_isa"] as? String
    #expect(kernels == KernelISA.selected.rawValue)
    #expect(report?["gemm_vector_floats"] as? Int == (kernels == "avx512" ? 16 : 8))
  }

  @Test func gemmFloorFailsWhenMissed() throws {
    let ok = try CommandRunner.mlpc(["bench", "--gemm", "32,32,32"])
    #expect(ok.status == 0)
    #expect(ok.stdout.hasPrefix("gemm nn (swift, avx"))
    #expect(ok.stdout.contains(") 32×32 · 32×32: "))
    let missed = try CommandRunner.mlpc(["bench", "--gemm", "32,32,32", "--minimum-gflops", "1e12"])
    #expect(missed.status == 1)
    #expect(missed.stderr.contains("below the floor"))
  }

  @Test func unusableBackendIsAUsageError() throws {
    let unknown = try CommandRunner.mlpc(
      ["bench", "--gemm", "8,8,8"], environment: ["MLPC_GEMM_BACKEND": "blas"])
    #expect(unknown.status == 2)
    #expect(unknown.stderr.contains("MLPC_GEMM_BACKEND is 'blas'; use 'swift' or 'openblas'"))
    let openBLAS = try CommandRunner.mlpc(
      ["bench", "--gemm", "8,8,8"], environment: ["MLPC_GEMM_BACKEND": "openblas"])
    if GemmBackend.available.contains(.openBLAS) {
      #expect(openBLAS.status == 0 && openBLAS.stdout.contains("(openblas)"))
    } else {
      #expect(openBLAS.status == 2 && openBLAS.stderr.contains("--traits OpenBLAS"))
    }
  }

  /// `MLPC_ISA` picks the kernels' instruction set; the report names it and says whether it
  /// runs natively (avx512 forced onto a CPU without AVX-512 runs its baseline build).
  @Test(arguments: KernelISA.allCases)
  func kernelISAOverride(_ isa: KernelISA) throws {
    let result = try CommandRunner.mlpc(
      ["bench", "--gemm", "64,96,64", "--format", "json"], environment: ["MLPC_ISA": isa.rawValue])
    #expect(result.status == 0, "\(result.stderr)")
    let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    #expect(report?["kernel_isa"] as? String == isa.rawValue)
    let cpuHasAVX512 = CPUFeatures.isa == "avx512"
    #expect(report?["kernel_isa_native"] as? Bool == (isa == .avx2 || cpuHasAVX512))
  }

  @Test func unknownKernelISAIsAUsageError() throws {
    let result = try CommandRunner.mlpc(
      ["bench", "--gemm", "8,8,8"], environment: ["MLPC_ISA": "avx1024"])
    #expect(result.status == 2)
    #expect(result.stderr.contains("MLPC_ISA is 'avx1024'; use 'avx2' or 'avx512'"))
  }

  /// Every command that runs kernels refuses unusable kernel settings as a usage error.
  @Test(arguments: [
    (["MLPC_THREADS": "0"], "MLPC_THREADS is '0'"),
    (["MLPC_THREADS": "many"], "MLPC_THREADS is 'many'"),
    (["MLPC_ISA": "sse"], "MLPC_ISA is 'sse'"),
  ])
  func unusableKernelSettings(_ environment: [String: String], _ message: String) throws {
    for arguments in [
      ["bench", "--gemm", "8,8,8"],
      ["run", "specs/xor.yaml", "--quiet", "--out", "/nonexistent/x"],
      ["gradcheck", "specs/xor.yaml"],
    ] {
      let result = try CommandRunner.mlpc(arguments, environment: environment)
      #expect(result.status == 2, "\(arguments)")
      #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
    }
    let fine = try CommandRunner.mlpc(
      ["bench", "--gemm", "8,8,8"], environment: ["MLPC_THREADS": "1"])
    #expect(fine.status == 0)
  }

  @Test func needsASpecOrAProduct() throws {
    #expect(try CommandRunner.mlpc(["bench"]).status == 2)
    #expect(try CommandRunner.mlpc(["bench", "--gemm", "1,2"]).status == 2)
  }
}

// `mlpc bench SPEC`: training-step timings after warm-up (median and spread, samples/s, GFLOP/s,
// share of the measured FMA peak), per op, and optionally whole epochs; `--gemm M,N,K` times one
// product instead.

import ArgumentParser
import Foundation
import MLPCore

extension MLPCCommand {
  struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Time training steps, each op, whole epochs, or one matrix product.")

    @Argument(help: "The spec file (not needed with --gemm).")
    var spec: String?

    @Option(parsing: .unconditional, help: "Also time this many whole epochs.")
    var epochs = 0

    @Option(help: "Time one product instead: M,N,K (C = A·B, A (M, K)).")
    var gemm: String?

    @Option(help: "The --gemm product's form: nn (A·B), nt (A·Bᵀ) or tn (Aᵀ·B).")
    var form: GemmFormOption = .nn

    @Option(
      parsing: .unconditional,
      help:
        "Threads for --gemm and the peak: 1, or 0 for the pool (MLPC_THREADS sets its size for training steps)."
    )
    var threads = 0

    @Option(
      parsing: .unconditional,
      help: "Fail (exit 1) when the --gemm product runs below this many GFLOP/s.")
    var minimumGflops: Double?

    @OptionGroup var output: OutputOptions

    func validate() throws {
      if spec == nil && gemm == nil { throw ValidationError("give a spec file or --gemm M,N,K") }
      if let gemm {
        let sizes = gemm.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard sizes.count == 3, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
          throw ValidationError("--gemm takes three positive sizes, e.g. 256,784,256")
        }
        let (m, n, k) = (sizes[0]!, sizes[1]!, sizes[2]!)
        guard let floats = sumOfProducts([(m, k), (k, n), (m, n)]),
          floats <= Int(ProcessInfo.processInfo.physicalMemory) / 4
        else {
          throw ValidationError(
            "--gemm \(gemm): A, B and C would not fit in this machine's memory")
        }
      }
      if epochs < 0 { throw ValidationError("--epochs must be at least 0") }
    }

    func run() throws {
      let pool = threads == 1 ? nil : WorkerPool.shared
      if let gemm { return try runGemm(gemm, pool: pool) }
      guard let spec, let checked = loadChecked(spec, options: output) else {
        throw ExitCode.failure
      }
      let report = try StepBenchReport.measure(checked, path: spec, epochs: epochs, pool: pool)
      Console.out(output.format == .json ? JSONRecord.line(report) + "\n" : report.text)
    }

    private func runGemm(_ sizes: String, pool: WorkerPool?) throws {
      let s = sizes.split(separator: ",").compactMap { Int($0) }
      let report = GemmBenchReport.measure(
        form.gemmForm, named: form.rawValue, m: s[0], n: s[1], k: s[2], pool: pool)
      Console.out(output.format == .json ? JSONRecord.line(report) + "\n" : report.text)
      if let minimumGflops, report.gflops < minimumGflops {
        reportError(
          "GEMM runs at \(String(format: "%.1f", report.gflops)) GFLOP/s, below the floor of \(minimumGflops); is the release build vectorised?"
        )
        throw ExitCode.failure
      }
    }
  }
}

/// Σ a·b without wrapping; nil on overflow.
private func sumOfProducts(_ pairs: [(Int, Int)]) -> Int? {
  var total = 0
  for (a, b) in pairs {
    let (p, o1) = a.multipliedReportingOverflow(by: b)
    let (t, o2) = total.addingReportingOverflow(p)
    if o1 || o2 { return nil }
    total = t
  }
  return total
}

/// `--form` values.
enum GemmFormOption: String, ExpressibleByArgument, CaseIterable {
  case nn, nt, tn

  var gemmForm: GemmForm {
    switch self {
    case .nn: .nn
    case .nt: .nt
    case .tn: .tn
    }
  }
}

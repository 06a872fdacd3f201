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

    @Option(
      help: ArgumentHelp(
        "Time the inference-only forward pass of a trained model instead (a model.safetensors or a run directory).",
        valueName: "model"))
    var predict: String?

    @Option(
      parsing: .unconditional,
      help: "Rows per --predict forward pass, comma-separated (default 1,64).")
    var rows = "1,64"

    @OptionGroup var output: OutputOptions

    func validate() throws {
      if spec == nil && gemm == nil && predict == nil {
        throw ValidationError("give a spec file, --gemm M,N,K or --predict MODEL")
      }
      if predict != nil {
        let counts = rows.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 65536 }) else {
          throw ValidationError("--rows takes row counts from 1 to 65536, e.g. 1,64")
        }
      }
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
      if let predict { return try runPredict(predict) }
      guard let spec, let checked = loadChecked(spec, options: output) else {
        throw ExitCode.failure
      }
      let report = try StepBenchReport.measure(checked, path: spec, epochs: epochs, pool: pool)
      Console.out(output.format == .json ? JSONRecord.line(report) + "\n" : report.text)
    }

    /// The median time of `Predictor.run` at each row count, after warm-up.
    private func runPredict(_ path: String) throws {
      let model: Model
      do { model = try Model.load(path) } catch { throw CleanError(error.description) }
      var lines =
        "forward pass of '\(model.description.name)' (inference-only plan, release timings need a release build)\n"
      for count in rows.split(separator: ",").compactMap({ Int($0) }) {
        let predictor = Predictor(model, batchSize: count)
        let n = min(count, predictor.executor.plan.batchSize)
        var g = SystemRandomNumberGenerator()
        let x = (0..<n * model.network.loadedColumns).map { _ in Float.random(in: -1...1, using: &g)
        }
        // Warm-up, then calls per sample sized to about a millisecond.
        var calls = 1
        while true {
          let t0 = DispatchTime.now().uptimeNanoseconds
          for _ in 0..<calls { _ = predictor.run(x, rows: n) }
          if DispatchTime.now().uptimeNanoseconds - t0 > 1_000_000 || calls >= 1 << 20 { break }
          calls *= 2
        }
        var samples: [Double] = []
        for _ in 0..<31 {
          let t0 = DispatchTime.now().uptimeNanoseconds
          for _ in 0..<calls { _ = predictor.run(x, rows: n) }
          samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / Double(calls))
        }
        samples.sort()
        let median = samples[15]
        lines += String(
          format:
            "  %6d rows: %9.2f µs per pass (median of 31 × %d; p10 %.2f, p90 %.2f), %.0f rows/s\n",
          n, median / 1000, calls, samples[3] / 1000, samples[27] / 1000, Double(n) * 1e9 / median)
      }
      Console.out(lines)
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

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
      let trainer = Trainer(checked)
      let plan = trainer.plan
      let train = checked.data.train
      let step = Benchmark.step(trainer.executor, data: train)
      let ops = Benchmark.ops(trainer.executor, data: train, seed: checked.training.seed)
      let epochTiming =
        epochs > 0
        ? try Benchmark.epochs(
          trainer, count: epochs, validation: checked.data.validation, test: checked.data.test)
        : nil
      let peak = Benchmark.peakFlops(threads: pool)
      let flops = Double(plan.flopsPerStep)
      var report: [String: Any] = [
        "spec": spec, "batch_size": plan.batchSize, "flops_per_step": plan.flopsPerStep,
        "step": step.dictionary, "samples_per_s": Double(plan.batchSize) / step.median,
        "gflops": flops / step.median / 1e9, "peak_gflops": peak / 1e9,
        "percent_of_peak": 100 * flops / step.median / peak, "threads": pool?.count ?? 1,
        "gemm_backend": GemmBackend.selected.rawValue, "cpu": CPUFeatures.model,
        "isa": CPUFeatures.isa, "peak_vector_floats": CPUFeatures.widestVector,
        "kernel_isa": KernelISA.selected.rawValue, "kernel_isa_native": KernelISA.selected.isNative,
        "gemm_vector_floats": KernelISA.selected.vectorFloats,
        "ops": ops.map { ["op": $0.name, "median_s": $0.timing.median] },
        "solo_jobs": WorkerPool.shared.soloJobs,
        "busy_core_periods": WorkerPool.shared.busyCorePeriods,
        "taken_over_parts": WorkerPool.shared.takenOverParts,
      ]
      if let epochTiming {
        report["epoch"] = epochTiming.dictionary
        report["epoch_gflops"] = flops * Double(trainer.stepsPerEpoch) / epochTiming.median / 1e9
      }
      if output.format == .json { return Console.out(JSONRecord.line(object: report) + "\n") }
      var text =
        "\(checked.name): batch \(plan.batchSize), \(pool?.count ?? 1) thread(s), gemm \(GemmBackend.selected.rawValue), \(CPUFeatures.model) (\(CPUFeatures.isa)), kernels \(KernelISA.selected.description), peak \(String(format: "%.1f", peak / 1e9)) GFLOP/s (\(CPUFeatures.widestVector)-wide FMA, all threads)\n"
      text +=
        "step     \(micro(step.median)) median (\(micro(step.minimum)) … \(micro(step.maximum))), "
      text += String(
        format: "%.0f samples/s, %.1f GFLOP/s, %.1f %% of peak\n",
        Double(plan.batchSize) / step.median, flops / step.median / 1e9,
        100 * flops / step.median / peak)
      for (name, timing) in ops {
        text +=
          "  \(name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(micro(timing.median))\n"
      }
      if let epochTiming {
        text +=
          "epoch    \(duration(epochTiming.median)) median of \(epochTiming.samples) "
        text +=
          "(\(duration(epochTiming.minimum)) … \(duration(epochTiming.maximum))), "
        text += String(
          format: "%.1f GFLOP/s, %.2f µs a step\n",
          flops * Double(trainer.stepsPerEpoch) / epochTiming.median / 1e9,
          epochTiming.median / Double(trainer.stepsPerEpoch) * 1e6)
      }
      Console.out(text)
    }

    private func runGemm(_ sizes: String, pool: WorkerPool?) throws {
      let s = sizes.split(separator: ",").compactMap { Int($0) }
      let backend = GemmBackend.selected
      let timing = Benchmark.gemm(
        form.gemmForm, m: s[0], n: s[1], k: s[2], threads: pool, backend: backend)
      let gflops = 2 * Double(s[0] * s[1] * s[2]) / timing.median / 1e9
      if output.format == .json {
        Console.out(
          JSONRecord.line(object: [
            "backend": backend.rawValue, "kernel_isa": KernelISA.selected.rawValue,
            "kernel_isa_native": KernelISA.selected.isNative, "form": form.rawValue, "m": s[0],
            "n": s[1], "k": s[2],
            "gflops": gflops,
            "timing": timing.dictionary,
          ])
            + "\n")
      } else {
        Console.out(
          "gemm \(form.rawValue) (\(backend.rawValue), \(KernelISA.selected.description)) \(s[0])×\(s[2]) · \(s[2])×\(s[1]): \(micro(timing.median)) median, \(String(format: "%.1f", gflops)) GFLOP/s\n"
        )
      }
      if let minimumGflops, gflops < minimumGflops {
        reportError(
          "GEMM runs at \(String(format: "%.1f", gflops)) GFLOP/s, below the floor of \(minimumGflops); is the release build vectorised?"
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

private func micro(_ seconds: Double) -> String { String(format: "%.2f µs", seconds * 1e6) }

/// Seconds, or microseconds below 10 ms.
private func duration(_ seconds: Double) -> String {
  seconds < 0.01 ? micro(seconds) : String(format: "%.4f s", seconds)
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

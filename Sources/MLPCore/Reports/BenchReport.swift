// `mlpc bench`'s records: a spec's training step (median and spread, samples/s, GFLOP/s, share
// of the measured FMA peak), its ops and optionally whole epochs; or one matrix product. Each is
// written by JSONRecord (`--format json`) or as text.

import Foundation

extension Timing: Encodable {
  enum CodingKeys: String, CodingKey {
    case median = "median_s"
    case minimum = "min_s"
    case maximum = "max_s"
    case samples
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(median, forKey: .median)
    try c.encode(minimum, forKey: .minimum)
    try c.encode(maximum, forKey: .maximum)
    try c.encode(samples, forKey: .samples)
  }
}

/// The timings of a spec's training step, ops and (optionally) epochs, and the machine and
/// kernels they ran on.
public struct StepBenchReport: Encodable, Sendable {
  public struct OpTiming: Encodable, Sendable {
    public var op: String
    public var medianSeconds: Double
    enum CodingKeys: String, CodingKey {
      case op
      case medianSeconds = "median_s"
    }
  }

  public var name: String
  public var spec: String
  public var batchSize: Int
  public var flopsPerStep: Int
  public var stepsPerEpoch: Int
  public var step: Timing
  public var ops: [OpTiming]
  public var epoch: Timing?
  public var threads: Int
  public var samplesPerSecond: Double
  public var gflops: Double
  public var peakGflops: Double
  public var percentOfPeak: Double
  public var epochGflops: Double?
  public var gemmBackend = GemmBackend.selected.rawValue
  public var cpu = CPUFeatures.model
  public var isa = CPUFeatures.isa
  public var peakVectorFloats = CPUFeatures.widestVector
  public var kernelISA = KernelISA.selected.rawValue
  public var kernelISANative = KernelISA.selected.isNative
  public var gemmVectorFloats = KernelISA.selected.vectorFloats
  public var soloJobs = WorkerPool.shared.soloJobs
  public var busyCorePeriods = WorkerPool.shared.busyCorePeriods
  public var takenOverParts = WorkerPool.shared.takenOverParts

  enum CodingKeys: String, CodingKey {
    case spec, step, threads, ops, epoch, gflops, cpu, isa
    case batchSize = "batch_size"
    case flopsPerStep = "flops_per_step"
    case samplesPerSecond = "samples_per_s"
    case peakGflops = "peak_gflops"
    case percentOfPeak = "percent_of_peak"
    case gemmBackend = "gemm_backend"
    case peakVectorFloats = "peak_vector_floats"
    case kernelISA = "kernel_isa"
    case kernelISANative = "kernel_isa_native"
    case gemmVectorFloats = "gemm_vector_floats"
    case soloJobs = "solo_jobs"
    case busyCorePeriods = "busy_core_periods"
    case takenOverParts = "taken_over_parts"
    case epochGflops = "epoch_gflops"
  }

  /// Times `spec`'s step and ops (and `epochs` whole epochs when above 0); the peak with
  /// `pool`'s threads (one when nil).
  public static func measure(
    _ spec: CheckedSpec, path: String, epochs: Int, pool: WorkerPool?
  ) throws(TrainingStop) -> StepBenchReport {
    let trainer = Trainer(spec)
    let train = spec.data.train
    let step = Benchmark.step(trainer.executor, data: train, learningRate: trainer.learningRate)
    let ops = Benchmark.ops(
      trainer.executor, data: train, seed: spec.training.seed, learningRate: trainer.learningRate)
    var epoch: Timing?
    if epochs > 0 {
      epoch = try Benchmark.epochs(
        trainer, count: epochs, validation: spec.data.validation, test: spec.data.test)
    }
    let peak = Benchmark.peakFlops(threads: pool)
    let (batch, flops) = (trainer.plan.batchSize, Double(trainer.plan.flopsPerStep))
    return StepBenchReport(
      name: spec.name, spec: path, batchSize: batch, flopsPerStep: trainer.plan.flopsPerStep,
      stepsPerEpoch: trainer.stepsPerEpoch, step: step,
      ops: ops.map { OpTiming(op: $0.name, medianSeconds: $0.timing.median) }, epoch: epoch,
      threads: pool?.count ?? 1, samplesPerSecond: Double(batch) / step.median,
      gflops: flops / step.median / 1e9, peakGflops: peak / 1e9,
      percentOfPeak: 100 * flops / step.median / peak,
      epochGflops: epoch.map { flops * Double(trainer.stepsPerEpoch) / $0.median / 1e9 })
  }

  public var text: String {
    let kernels = KernelISA(rawValue: kernelISA)?.description ?? kernelISA
    var text =
      "\(safeText(name)): batch \(batchSize), \(threads) thread(s), gemm \(gemmBackend), \(cpu) (\(isa)), kernels \(kernels), peak \(String(format: "%.1f", peakGflops)) GFLOP/s (\(peakVectorFloats)-wide FMA, all threads)\n"
    text +=
      "step     \(micro(step.median)) median (\(micro(step.minimum)) … \(micro(step.maximum))), "
    text += String(
      format: "%.0f samples/s, %.1f GFLOP/s, %.1f %% of peak\n", samplesPerSecond, gflops,
      percentOfPeak)
    for op in ops {
      text +=
        "  \(op.op.padding(toLength: 20, withPad: " ", startingAt: 0)) \(micro(op.medianSeconds))\n"
    }
    if let epoch, let epochGflops {
      text += "epoch    \(duration(epoch.median)) median of \(epoch.samples) "
      text += "(\(duration(epoch.minimum)) … \(duration(epoch.maximum))), "
      text += String(
        format: "%.1f GFLOP/s, %.2f µs a step\n", epochGflops,
        epoch.median / Double(stepsPerEpoch) * 1e6)
    }
    return text
  }
}

/// The timing of one matrix product.
public struct GemmBenchReport: Encodable, Sendable {
  public var backend = GemmBackend.selected.rawValue
  public var kernelISA = KernelISA.selected.rawValue
  public var kernelISANative = KernelISA.selected.isNative
  public var form: String
  public var m: Int
  public var n: Int
  public var k: Int
  public var gflops: Double
  public var timing: Timing

  enum CodingKeys: String, CodingKey {
    case backend, form, m, n, k, gflops, timing
    case kernelISA = "kernel_isa"
    case kernelISANative = "kernel_isa_native"
  }

  /// Times C (M, N) = A (M, K) · B (K, N) in `form` (named `name`) with `pool`'s threads (one
  /// when nil).
  public static func measure(
    _ form: GemmForm, named name: String, m: Int, n: Int, k: Int, pool: WorkerPool?
  ) -> GemmBenchReport {
    let timing = Benchmark.gemm(
      form, m: m, n: n, k: k, threads: pool, backend: GemmBackend.selected)
    let gflops = 2 * Double(m) * Double(n) * Double(k) / timing.median / 1e9
    return GemmBenchReport(form: name, m: m, n: n, k: k, gflops: gflops, timing: timing)
  }

  public var text: String {
    let kernels = KernelISA(rawValue: kernelISA)?.description ?? kernelISA
    return
      "gemm \(form) (\(backend), \(kernels)) \(m)×\(k) · \(k)×\(n): \(micro(timing.median)) median, \(String(format: "%.1f", gflops)) GFLOP/s\n"
  }
}

private func micro(_ seconds: Double) -> String { String(format: "%.2f µs", seconds * 1e6) }

/// Seconds, or microseconds below 10 ms.
private func duration(_ seconds: Double) -> String {
  seconds < 0.01 ? micro(seconds) : String(format: "%.4f s", seconds)
}

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

/// The machine and kernels a timing ran on.
public struct KernelContext: Sendable {
  public var gemmBackend = GemmBackend.selected.rawValue
  public var cpu = CPUFeatures.model
  public var isa = CPUFeatures.isa
  public var peakVectorFloats = CPUFeatures.widestVector
  public var kernelISA = KernelISA.selected

  public init() {}
}

/// The timings of a spec's training step, ops and (optionally) epochs.
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
  public var peakFlops: Double
  public var threads: Int
  public var context = KernelContext()
  public var soloJobs = WorkerPool.shared.soloJobs
  public var busyCorePeriods = WorkerPool.shared.busyCorePeriods
  public var takenOverParts = WorkerPool.shared.takenOverParts

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
    return StepBenchReport(
      name: spec.name, spec: path, batchSize: trainer.plan.batchSize,
      flopsPerStep: trainer.plan.flopsPerStep, stepsPerEpoch: trainer.stepsPerEpoch, step: step,
      ops: ops.map { OpTiming(op: $0.name, medianSeconds: $0.timing.median) }, epoch: epoch,
      peakFlops: Benchmark.peakFlops(threads: pool), threads: pool?.count ?? 1)
  }

  var gflops: Double { Double(flopsPerStep) / step.median / 1e9 }
  var epochGflops: Double? {
    epoch.map { Double(flopsPerStep) * Double(stepsPerEpoch) / $0.median / 1e9 }
  }

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

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(spec, forKey: .spec)
    try c.encode(batchSize, forKey: .batchSize)
    try c.encode(flopsPerStep, forKey: .flopsPerStep)
    try c.encode(step, forKey: .step)
    try c.encode(Double(batchSize) / step.median, forKey: .samplesPerSecond)
    try c.encode(gflops, forKey: .gflops)
    try c.encode(peakFlops / 1e9, forKey: .peakGflops)
    try c.encode(100 * Double(flopsPerStep) / step.median / peakFlops, forKey: .percentOfPeak)
    try c.encode(threads, forKey: .threads)
    try c.encode(context.gemmBackend, forKey: .gemmBackend)
    try c.encode(context.cpu, forKey: .cpu)
    try c.encode(context.isa, forKey: .isa)
    try c.encode(context.peakVectorFloats, forKey: .peakVectorFloats)
    try c.encode(context.kernelISA.rawValue, forKey: .kernelISA)
    try c.encode(context.kernelISA.isNative, forKey: .kernelISANative)
    try c.encode(context.kernelISA.vectorFloats, forKey: .gemmVectorFloats)
    try c.encode(ops, forKey: .ops)
    try c.encode(soloJobs, forKey: .soloJobs)
    try c.encode(busyCorePeriods, forKey: .busyCorePeriods)
    try c.encode(takenOverParts, forKey: .takenOverParts)
    try c.encodeIfPresent(epoch, forKey: .epoch)
    try c.encodeIfPresent(epochGflops, forKey: .epochGflops)
  }

  public var text: String {
    let k = context
    var text =
      "\(name): batch \(batchSize), \(threads) thread(s), gemm \(k.gemmBackend), \(k.cpu) (\(k.isa)), kernels \(k.kernelISA.description), peak \(String(format: "%.1f", peakFlops / 1e9)) GFLOP/s (\(k.peakVectorFloats)-wide FMA, all threads)\n"
    text +=
      "step     \(micro(step.median)) median (\(micro(step.minimum)) … \(micro(step.maximum))), "
    text += String(
      format: "%.0f samples/s, %.1f GFLOP/s, %.1f %% of peak\n",
      Double(batchSize) / step.median, gflops, 100 * Double(flopsPerStep) / step.median / peakFlops)
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
  public var form: GemmForm
  public var formName: String
  public var m: Int
  public var n: Int
  public var k: Int
  public var timing: Timing
  public var context = KernelContext()

  /// Times C (M, N) = A (M, K) · B (K, N) in `form` with `pool`'s threads (one when nil).
  public static func measure(
    _ form: GemmForm, named formName: String, m: Int, n: Int, k: Int, pool: WorkerPool?
  ) -> GemmBenchReport {
    let timing = Benchmark.gemm(
      form, m: m, n: n, k: k, threads: pool, backend: GemmBackend.selected)
    return GemmBenchReport(form: form, formName: formName, m: m, n: n, k: k, timing: timing)
  }

  public var gflops: Double { 2 * Double(m) * Double(n) * Double(k) / timing.median / 1e9 }

  enum CodingKeys: String, CodingKey {
    case backend, form, m, n, k, gflops, timing
    case kernelISA = "kernel_isa"
    case kernelISANative = "kernel_isa_native"
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(context.gemmBackend, forKey: .backend)
    try c.encode(context.kernelISA.rawValue, forKey: .kernelISA)
    try c.encode(context.kernelISA.isNative, forKey: .kernelISANative)
    try c.encode(formName, forKey: .form)
    try c.encode(m, forKey: .m)
    try c.encode(n, forKey: .n)
    try c.encode(k, forKey: .k)
    try c.encode(gflops, forKey: .gflops)
    try c.encode(timing, forKey: .timing)
  }

  public var text: String {
    "gemm \(formName) (\(context.gemmBackend), \(context.kernelISA.description)) \(m)×\(k) · \(k)×\(n): \(micro(timing.median)) median, \(String(format: "%.1f", gflops)) GFLOP/s\n"
  }
}

private func micro(_ seconds: Double) -> String { String(format: "%.2f µs", seconds * 1e6) }

/// Seconds, or microseconds below 10 ms.
private func duration(_ seconds: Double) -> String {
  seconds < 0.01 ? micro(seconds) : String(format: "%.4f s", seconds)
}

// Timing for `mlpc bench`: warm-up, then the median and spread of repeated measurements of a
// training step, of each op in it (as `caffe time` reports layers), of whole epochs, and of a
// single GEMM; and the machine's measured FMA peak, to express results as a share of it.

import Foundation

/// Summary statistics of repeated timings, in seconds.
public struct Timing: Sendable {
  public var median: Double
  public var minimum: Double
  public var maximum: Double
  public var samples: Int

  init(_ values: [Double]) {
    let sorted = values.sorted()
    median = sorted[sorted.count / 2]
    minimum = sorted.first!
    maximum = sorted.last!
    samples = sorted.count
  }

  public var dictionary: [String: Any] {
    ["median_s": median, "min_s": minimum, "max_s": maximum, "samples": samples]
  }
}

/// Benchmarks of one plan.
public enum Benchmark {
  /// Seconds since an arbitrary start, monotonic.
  public static func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
  }

  /// Repeats `body` (which runs `iterations` times per call) until `repeats` samples of at least
  /// `minimumSeconds` each exist, after `warmup` calls; returns per-iteration timings.
  public static func measure(
    repeats: Int = 11, minimumSeconds: Double = 0.02, warmup: Int = 3, _ body: () -> Void
  ) -> Timing {
    for _ in 0..<warmup { body() }
    var iterations = 1
    while true {
      let t0 = now()
      for _ in 0..<iterations { body() }
      let elapsed = now() - t0
      if elapsed >= minimumSeconds || iterations >= 1 << 20 { break }
      iterations *= 2
    }
    var samples: [Double] = []
    for _ in 0..<repeats {
      let t0 = now()
      for _ in 0..<iterations { body() }
      samples.append((now() - t0) / Double(iterations))
    }
    return Timing(samples)
  }

  /// Training steps (forward, loss, backward, update) as an epoch runs them: consecutive full
  /// batches of the training data, each loaded untimed and then its step timed alone, after a
  /// warm-up, until `minimumSteps` steps and `minimumSeconds` of stepping are collected. The
  /// parameters evolve as in training and are put back afterwards.
  public static func step(
    _ executor: Executor, minimumSteps: Int = 64, minimumSeconds: Double = 0.25, warmup: Int = 16
  ) -> Timing {
    let data = executor.plan.spec.data.train
    let rows = min(executor.plan.batchSize, data.count)
    let start = executor.snapshot()
    defer { executor.restore(start) }
    var offset = 0
    func nextBatch() {
      if offset + rows > data.count { offset = 0 }
      executor.loadBatch(data, offset..<offset + rows)
      offset += rows
    }
    for _ in 0..<warmup {
      nextBatch()
      _ = executor.trainStep(rows: rows)
    }
    var samples: [Double] = []
    var total = 0.0
    while samples.count < minimumSteps || total < minimumSeconds {
      nextBatch()
      let t0 = now()
      _ = executor.trainStep(rows: rows)
      let elapsed = now() - t0
      samples.append(elapsed)
      total += elapsed
    }
    return Timing(samples)
  }

  /// Each op of the step, timed alone: forward ops, the loss, backward ops and the update.
  public static func ops(_ executor: Executor, repeats: Int = 11) -> [(
    name: String, timing: Timing
  )] {
    let plan = executor.plan
    let rows = prepare(executor)
    executor.forward(rows: rows)
    _ = executor.loss(rows: rows)
    let seed = plan.spec.training.seed
    var out: [(String, Timing)] = []
    for index in 0..<executor.opCount {
      let name =
        index < plan.opLines.count
        ? plan.opLines[index].split(separator: " ").first.map(String.init) : nil
      out.append((name ?? "op", measure(repeats: repeats) { executor.runOp(index, rows: rows) }))
    }
    executor.initializeParameters(seed: seed)
    return out
  }

  /// Whole epochs over the spec's training data (data already in memory).
  public static func epochs(_ trainer: Trainer, count: Int) throws -> Timing {
    // Step timings train one batch over and over; start the epochs from fresh weights.
    trainer.executor.initializeParameters(seed: trainer.plan.spec.training.seed)
    var samples: [Double] = []
    _ = try trainer.runEpoch(1)
    for epoch in 0..<count {
      let t0 = now()
      _ = try trainer.runEpoch(epoch + 2)
      samples.append(now() - t0)
    }
    return Timing(samples)
  }

  /// One product C (M, N) = A·B (or another form) on random data.
  public static func gemm(
    _ form: GemmForm, m: Int, n: Int, k: Int, threads: WorkerPool?,
    backend: GemmBackend = .selected
  ) -> Timing {
    GemmBackend.setOpenBLASThreads(threads?.count ?? 1)
    var rng = SeededGenerator(seed: 1)
    let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
    let b = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
    let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
    defer {
      a.deallocate()
      b.deallocate()
      c.deallocate()
    }
    for i in 0..<m * k { a[i] = Float(rng.uniform(-1, 1)) }
    for i in 0..<k * n { b[i] = Float(rng.uniform(-1, 1)) }
    let (lda, ldb) = (form == .tn ? m : k, form == .nt ? k : n)
    return measure {
      MLPCore.gemm(
        form, m: m, n: n, k: k, a, lda: lda, b, ldb: ldb, c, ldc: n, accumulate: false,
        threads: threads, backend: backend)
    }
  }

  /// The FLOP/s of one core running independent SIMD8 fused multiply-adds from registers
  /// (ten chains, enough to cover the FMA latency of two pipes).
  public static func peakFlopsPerCore() -> Double {
    let sink = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 1)
    defer { sink.deallocate() }
    sink.pointee = SIMD8(repeating: 1)
    let x = SIMD8<Float>(repeating: 1e-3)
    let y = SIMD8<Float>(repeating: 1e-3)
    let timing = measure(repeats: 5, minimumSeconds: 0.02, warmup: 1) {
      var s = (sink.pointee, sink.pointee, sink.pointee, sink.pointee, sink.pointee)
      var t = (sink.pointee, sink.pointee, sink.pointee, sink.pointee, sink.pointee)
      for _ in 0..<4096 {
        s.0 = s.0.addingProduct(x, y)
        s.1 = s.1.addingProduct(x, y)
        s.2 = s.2.addingProduct(x, y)
        s.3 = s.3.addingProduct(x, y)
        s.4 = s.4.addingProduct(x, y)
        t.0 = t.0.addingProduct(x, y)
        t.1 = t.1.addingProduct(x, y)
        t.2 = t.2.addingProduct(x, y)
        t.3 = t.3.addingProduct(x, y)
        t.4 = t.4.addingProduct(x, y)
      }
      sink.pointee = s.0 + s.1 + s.2 + s.3 + s.4 + t.0 + t.1 + t.2 + t.3 + t.4
    }
    return 4096 * 10 * 16 / timing.median
  }

  private static func prepare(_ executor: Executor) -> Int {
    let data = executor.plan.spec.data.train
    let rows = min(executor.plan.batchSize, data.count)
    executor.loadBatch(data, 0..<rows)
    return rows
  }
}

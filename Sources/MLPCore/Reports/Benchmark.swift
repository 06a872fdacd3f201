// Timing for `mlpc bench`: warm-up, then the median and spread of repeated measurements of a
// training step, of each op in it (as `caffe time` reports layers), of whole epochs, and of a
// single GEMM (see MLPKernels/Timing.swift for the timer, the GEMM and the FMA peak).

import Foundation

/// Benchmarks of one plan.
extension Benchmark {
  /// Training steps (forward, loss, backward, update) as an epoch runs them: consecutive full
  /// batches of the training data, each loaded untimed and then its step timed alone, after a
  /// warm-up, until `minimumSteps` steps and `minimumSeconds` of stepping are collected. The
  /// parameters evolve as in training and are put back afterwards.
  public static func step(
    _ executor: Executor, data: Dataset, learningRate: Float, minimumSteps: Int = 64,
    minimumSeconds: Double = 0.25, warmup: Int = 16
  ) -> Timing {
    let rows = ArenaLayout.rows(batchSize: executor.plan.batchSize, samples: data.count)
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
      _ = executor.trainStep(rows: rows, learningRate: learningRate)
    }
    var samples: [Double] = []
    var total = 0.0
    while samples.count < minimumSteps || total < minimumSeconds {
      nextBatch()
      let t0 = now()
      _ = executor.trainStep(rows: rows, learningRate: learningRate)
      let elapsed = now() - t0
      samples.append(elapsed)
      total += elapsed
    }
    return Timing(samples)
  }

  /// Each op of the step, timed alone: forward ops, the loss, backward ops and the update.
  public static func ops(
    _ executor: Executor, data: Dataset, seed: UInt64, learningRate: Float, repeats: Int = 11
  ) -> [(name: String, timing: Timing)] {
    let plan = executor.plan
    let rows = ArenaLayout.rows(batchSize: executor.plan.batchSize, samples: data.count)
    executor.loadBatch(data, 0..<rows)
    executor.forward(rows: rows, training: true)
    _ = executor.loss(rows: rows)
    var out: [(String, Timing)] = []
    for index in 0..<executor.opCount {
      let name =
        index < plan.opLines.count
        ? plan.opLines[index].split(separator: " ").first.map(String.init) : nil
      out.append(
        (
          name ?? "op",
          measure(repeats: repeats) {
            executor.runOp(index, rows: rows, learningRate: learningRate)
          }
        ))
    }
    executor.initializeParameters(seed: seed)
    return out
  }

  /// Whole epochs as `mlpc run` runs them (training, validation and test passes, the metrics
  /// line), over the data in memory.
  public static func epochs(
    _ trainer: Trainer, count: Int, validation: Dataset? = nil, test: Dataset? = nil
  ) throws(TrainingStop) -> Timing {
    // Step timings train one batch over and over; start the epochs from fresh weights.
    trainer.executor.initializeParameters(seed: trainer.settings.seed)
    var samples: [Double] = []
    var lineBytes = 0
    _ = try trainer.reportedEpoch(1, validation: validation, test: test)
    for epoch in 0..<count {
      let t0 = now()
      // What `mlpc run` does per epoch, up to its metrics line (written in batches).
      let report = try trainer.reportedEpoch(epoch + 2, validation: validation, test: test)
      lineBytes &+= report.metricsLine.utf8.count
      samples.append(now() - t0)
    }
    if lineBytes == -1 { print(lineBytes) }  // keeps the lines from being optimised away
    return Timing(samples)
  }
}

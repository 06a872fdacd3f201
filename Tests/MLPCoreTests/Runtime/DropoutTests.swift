// Dropout: the backward pass against finite differences with the step's masks held fixed, the
// masks' statistics, no dropout outside training, byte-identical runs and resumes, and the checks.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct DropoutTests {
  static func spec(_ hidden: String, dropout: Double, epochs: Int = 3) -> String {
    """
    task: classification
    input: 2
    layers:
      - {units: 12, activation: \(hidden), dropout: \(dropout)}
      - {units: 7, activation: tanh, dropout: \(dropout / 2)}
      - {units: 3, activation: softmax}
    data: {generator: spirals, classes: 3, samples: 120, validation_split: 0.25}
    training: {epochs: \(epochs), batch_size: 16, optimizer: adam, learning_rate: 0.01, seed: 4}
    """
  }

  @Test(arguments: ["tanh", "relu", "sigmoid", "elu", "softplus"])
  func gradientsMatchFiniteDifferencesWithTheMaskFixed(_ hidden: String) throws {
    let spec = try #require(checkSpec(Self.spec(hidden, dropout: 0.4)).spec)
    let executor = Executor(plan: PlanCompiler.compile(spec), seed: 3)
    #expect(executor.hasDropout)
    let results = GradientCheck.run(executor, data: spec.data.train, rows: 16)
    for r in results {
      #expect(r.worstRelativeError < 1e-3, "\(r.tensor): \(r.worstRelativeError)")
    }
    // The masks did drop values: a layer's mask has zeros and kept values 1/(1 − p).
    let mask = try #require(
      executor.plan.buffers.first { $0.role == .dropoutMask(layer: 1) })
    let values = Set(executor.values(mask.id).prefix(16 * 12))
    #expect(values == [0, Float(1) / Float(1 - Float(0.4))])
  }

  @Test func masksDropTheirShareAndChangeEveryStep() throws {
    let spec = try #require(checkSpec(Self.spec("relu", dropout: 0.3)).spec)
    let executor = Executor(plan: PlanCompiler.compile(spec, batchSize: 16), seed: 9)
    let mask = try #require(executor.plan.buffers.first { $0.role == .dropoutMask(layer: 1) })
    var dropped = 0
    var total = 0
    var previous: [Float] = []
    executor.loadBatch(spec.data.train, 0..<16)
    for _ in 0..<200 {
      _ = executor.trainStep(rows: 16, learningRate: Float(spec.training.learningRate))
      let m = executor.values(mask.id)
      dropped += m.count { $0 == 0 }
      total += m.count
      #expect(m != previous)
      previous = m
    }
    // 38,400 draws at p = 0.3: the share lies within 0.3 ± 0.01 (more than 4 standard deviations).
    let share = Double(dropped) / Double(total)
    #expect(abs(share - 0.3) < 0.01, "\(share)")
  }

  @Test func evaluationRunsWithoutDropout() throws {
    let with = try #require(checkSpec(Self.spec("tanh", dropout: 0.5)).spec)
    let without = try #require(checkSpec(Self.spec("tanh", dropout: 0)).spec)
    let a = Trainer(with)
    let b = Trainer(without)
    #expect(a.executor.values(a.plan.weights[0]) == b.executor.values(b.plan.weights[0]))
    #expect(a.evaluate(with.data.train) == b.evaluate(without.data.train))
    // Training does differ.
    _ = try a.runEpoch(1)
    _ = try b.runEpoch(1)
    #expect(a.executor.values(a.plan.weights[0]) != b.executor.values(b.plan.weights[0]))
    // An inference plan of the trained network has no dropout op and predicts as evaluation.
    let inference = PlanCompiler.compileInference(with.network, batchSize: 8)
    #expect(!inference.ops.contains { if case .dropout = $0 { true } else { false } })
  }

  @Test func runsAreByteIdenticalAndResumeExactly() throws {
    let spec = try #require(checkSpec(Self.spec("relu", dropout: 0.3, epochs: 4)).spec)
    let whole = Trainer(spec)
    for e in 1...4 { _ = try whole.runEpoch(e) }
    let again = Trainer(spec)
    for e in 1...4 { _ = try again.runEpoch(e) }
    #expect(whole.executor.snapshot() == again.executor.snapshot())
    // Interrupted inside epoch 3, resumed from the checkpoint by a new trainer.
    let first = Trainer(spec)
    for e in 1...2 { _ = try first.runEpoch(e) }
    var steps = 0
    #expect(throws: TrainingStop.self) {
      _ = try first.runEpoch(
        3,
        shouldStop: {
          steps += 1
          return steps == 2
        })
    }
    let checkpoint = try #require(Checkpoint.decode(first.checkpoint(nextEpoch: 3).encode()))
    let resumed = Trainer(spec)
    resumed.restore(checkpoint)
    for e in 3...4 { _ = try resumed.runEpoch(e) }
    #expect(resumed.executor.snapshot() == whole.executor.snapshot())
  }

  @Test func dropoutOnTheOutputLayerIsAnError() {
    let result = checkSpec(
      """
      task: classification
      input: 2
      layers: [{units: 4, activation: relu}, {units: 3, activation: softmax, dropout: 0.2}]
      data: {generator: blobs, classes: 3}
      """)
    #expect(result.spec == nil)
    #expect(result.diagnostics.contains { $0.message.contains("dropout on the output layer") })
    let range = checkSpec(Self.spec("relu", dropout: 1))
    #expect(range.diagnostics.contains { $0.message.hasPrefix("'layers[0].dropout' must be") })
  }
}

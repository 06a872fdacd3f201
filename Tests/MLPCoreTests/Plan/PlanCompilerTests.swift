// The plan compiler: shapes, one aligned arena, mirrored parameter/gradient/state layouts, ops.

import MLPCTestSupport
import Testing

@testable import MLPCore

/// 5 → a (9 units) → b (3, softmax) on 20 samples.
func planSpec(optimizer: String, batch: Int, hidden: String = "relu") -> String {
  """
  task: classification
  input: 5
  layers:
    - {name: a, units: 9, activation: \(hidden)}
    - {name: b, units: 3, activation: softmax}
  data: {generator: blobs, dimensions: 5, samples: 20}
  training: {optimizer: \(optimizer), batch_size: \(batch)}
  """
}

@Suite struct PlanCompilerTests {
  func plan(_ optimizer: String = "adam", batch: Int = 7) throws -> ExecutionPlan {
    let checked = try #require(checkSpec(planSpec(optimizer: optimizer, batch: batch)).spec)
    return PlanCompiler.compile(checked)
  }

  @Test func shapesFollowTheSpec() throws {
    let p = try plan()
    #expect(p[p.weights[0]].shape == [9, 5])
    #expect(p[p.biases[0]].shape == [9])
    #expect(p[p.weights[1]].shape == [3, 9])
    #expect(p[p.input].shape == [7, 5])
    #expect(p[p.output].shape == [7, 3])
    #expect(p.parameterCount == 9 * 5 + 9 + 3 * 9 + 3)
    #expect(p.forward.count == 2 && p.backward.count == 2)
  }

  @Test func arenaIsAlignedAndDisjoint() throws {
    let p = try plan()
    let ranges = p.buffers.map { ($0.offset, $0.offset + $0.count) }.sorted { $0.0 < $1.0 }
    for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.1 <= b.0) }
    #expect(p.buffers.allSatisfy { $0.offset % 16 == 0 })
    #expect(ranges.last!.1 <= p.arenaCount)
  }

  @Test func gradientsAndStateMirrorParameters() throws {
    let p = try plan()
    let gradients = try #require(p.gradients)
    #expect(gradients.count == p.parameters.count)
    #expect(p.optimizerState.count == 2)
    for k in 0..<2 {
      let w = p[p.weights[k]]
      let g = p.buffers.first { $0.role == .weightGradient(layer: k + 1) }!
      #expect(g.offset - gradients.offset == w.offset - p.parameters.offset)
    }
    #expect(try plan("sgd").optimizerState.isEmpty)
    #expect(try plan("momentum").optimizerState.count == 1)
  }

  @Test func fusedSoftmaxLeavesTheLastDenseLinear() throws {
    let p = try plan()
    guard case .dense(_, _, _, _, _, _, _, let activation, _, _) = p.forward[1] else {
      Issue.record("not a dense op")
      return
    }
    #expect(activation == .identity)
    guard case .loss(let kind, _, _, _, _, let lossActivation, _, nil, nil, 0) = p.loss else {
      Issue.record("not a loss op")
      return
    }
    #expect(kind == .crossEntropy && lossActivation == .softmax)
  }

  @Test func flopCounts() throws {
    let p = try plan(batch: 10)
    #expect(p.flops(layer: 1).forward == 2 * 10 * 5 * 9 + 2 * 10 * 9)
    #expect(p.flops(layer: 1).backward == 2 * 10 * 5 * 9 + 10 * 9)
    #expect(p.flops(layer: 2).backward == 4 * 10 * 9 * 3 + 10 * 3)
  }
}

/// Plans compiled from a network alone: inference plans, and the one arena computation that the
/// checker's memory check and `mlpc plan` share.
@Suite struct NetworkPlanTests {
  let spec = planSpec(optimizer: "momentum", batch: 64, hidden: "elu")

  @Test func inferencePlanHasNoTrainingBuffers() throws {
    let checked = try #require(checkSpec(spec).spec)
    let p = PlanCompiler.compileInference(checked.network, batchSize: 4)
    #expect(!p.isTraining && p.loss == nil && p.backward.isEmpty && p.target == nil)
    #expect(p.gradients == nil && p.optimizerState.isEmpty)
    #expect(
      p.buffers.allSatisfy {
        [.input, .activation(layer: 1), .activation(layer: 2)].contains($0.role)
          || $0.role.isParameter
      })
    #expect(p.arenaCount < PlanCompiler.compile(checked, batchSize: 4).arenaCount)
  }

  /// The inference plan's output is the training plan's forward pass with the output activation
  /// applied (softmax here), for the same weights and rows.
  @Test func inferenceOutputIsTheProbabilities() throws {
    let checked = try #require(checkSpec(spec).spec)
    let training = Executor(plan: PlanCompiler.compile(checked, batchSize: 6), seed: 5)
    let inference = Executor(
      plan: PlanCompiler.compileInference(checked.network, batchSize: 6), seed: 5)
    let rows = 6
    training.loadBatch(checked.data.train, 0..<rows)
    inference.loadBatch(checked.data.train, 0..<rows)
    training.forward(rows: rows)
    _ = training.loss(rows: rows)  // turns the logits into probabilities in place
    inference.forward(rows: rows)
    let expected = training.values(training.plan.output)
    let actual = inference.values(inference.plan.output)
    for (a, e) in zip(actual, expected) { #expect(abs(a - e) <= 1e-6) }
    for r in 0..<rows {
      let sum = actual[r * 3..<(r + 1) * 3].reduce(0, +)
      #expect(abs(sum - 1) < 1e-5)
    }
  }

  /// The batch is capped by the samples (20 here, not 64), and the checker sizes the same arena
  /// the compiler allocates.
  @Test func checkerAndCompilerAgreeOnTheArena() throws {
    let checked = try #require(checkSpec(spec).spec)
    let plan = PlanCompiler.compile(checked)
    #expect(plan.batchSize == 20)
    let sizing = ArenaSizing(
      input: 5, layers: checked.layers.map { ($0.name, $0.units) }, optimizer: .momentum,
      batchSize: 64)
    let layout = try #require(sizing.layout(samples: checked.data.train.count))
    #expect(layout.count == plan.arenaCount)
    #expect(layout.bytes == plan.memory["arena"])
  }

  /// gelu and silu take σ' from z: a training plan keeps z^k for those layers only, the forward
  /// op writes it and the backward ops read it; inference keeps none.
  @Test func trainingKeepsZWhereTheDerivativeNeedsIt() throws {
    let text = """
      task: regression
      input: 3
      layers:
        - {name: a, units: 6, activation: gelu, dropout: 0.2}
        - {name: b, units: 5, activation: tanh}
        - {name: c, units: 4, activation: silu}
        - {name: d, units: 1, activation: gelu_tanh}
      data: {generator: sine, dimensions: 3, samples: 20}
      training: {batch_size: 8}
      """
    let checked = try #require(checkSpec(text).spec)
    let p = PlanCompiler.compile(checked)
    let kept = p.buffers.compactMap { b -> Int? in
      if case .preActivation(let k) = b.role {
        #expect(b.shape == [8, checked.layers[k - 1].units], "z^\(k) shape")
        return k
      }
      return nil
    }
    #expect(kept == [1, 3, 4])
    let z = { (k: Int) in p.buffers.first { $0.role == .preActivation(layer: k) }?.id }
    var written: [Int] = []
    for op in p.forward {
      if case .dense(let k, _, _, _, _, _, _, _, _, let out) = op {
        #expect(out == z(k), "dense \(k) writes z^\(k) exactly when it is kept")
        if out != nil { written.append(k) }
      }
    }
    #expect(written == [1, 3, 4])
    var read: [Int] = []
    for op in p.backward + [p.loss].compactMap({ $0 }) {
      switch op {
      case .denseBackward(let k, _, _, _, _, _, let dx, _, _, _, _, let source):
        // Below layer 2 is a dropout layer: its dropoutBackward applies σ' (from z^1).
        if dx != nil { #expect(source == (k == 2 ? nil : z(k - 1)), "backward \(k)") }
        if let source { read.append(p.buffers.firstIndex { $0.id == source }!) }
      case .dropoutBackward(let k, _, _, _, _, _, _, let source):
        #expect(source == z(k))
        if let source { read.append(p.buffers.firstIndex { $0.id == source }!) }
      case .loss(_, _, _, _, _, _, _, _, let source, _):
        #expect(source == z(4))
        if let source { read.append(p.buffers.firstIndex { $0.id == source }!) }
      default: break
      }
    }
    #expect(read.count == 3, "z^1 (through dropout), z^3 and z^4 (the loss) are each read once")
    let inference = PlanCompiler.compileInference(checked.network, batchSize: 8)
    #expect(
      !inference.buffers.contains {
        if case .preActivation = $0.role { true } else { false }
      })
    // The checker sizes the arena (E008) by the same rule.
    let sizing = ArenaSizing(
      input: 3, layers: checked.layers.map { ($0.name, $0.units) }, optimizer: .sgd,
      batchSize: 8, dropoutLayers: [1],
      preActivationLayers: ArenaLayout.preActivationLayers(checked.layers.map(\.activation)))
    #expect(sizing.layout(samples: 20)?.count == p.arenaCount)
  }

  @Test func sizesThatCannotBeAddressedGiveNoLayout() {
    let huge = [(name: "a", units: 1 << 40), (name: "b", units: 1 << 40)]
    #expect(ArenaLayout(input: 1 << 40, layers: huge, batchSize: 1, optimizerSlots: 2) == nil)
  }
}

@Test func parameterGradientAndStateRangesHaveEqualCounts() throws {
  let checked = try #require(checkSpec(planSpec(optimizer: "adam", batch: 4)).spec)
  let p = PlanCompiler.compile(checked)
  #expect(p.gradients?.count == p.parameters.count)
  #expect(p.optimizerState.allSatisfy { $0.count == p.parameters.count })
  #expect(p.parameters.count % 16 == 0)
}

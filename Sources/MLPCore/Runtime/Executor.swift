// Runs an ExecutionPlan: one arena allocated at start-up, then forward / loss / backward /
// update as a `switch` over the plan's ops. Nothing here allocates after `init`, and nothing
// reports to the user: errors were the checker's job.

import Foundation

/// Owns the arena of one plan and executes its ops.
public final class Executor {
  public let plan: ExecutionPlan
  /// The one allocation: parameters, gradients, optimizer state and batch buffers.
  let arena: UnsafeMutablePointer<Float>
  /// Optimizer steps taken (Adam's t).
  public private(set) var step = 0
  let rule: UpdateRule

  /// Allocates and zeroes the arena, then initialises parameters from `seed`.
  public init(plan: ExecutionPlan, seed: UInt64? = nil) {
    self.plan = plan
    let raw = UnsafeMutableRawPointer.allocate(
      byteCount: max(plan.arenaCount, 1) * 4, alignment: 64)
    arena = raw.bindMemory(to: Float.self, capacity: max(plan.arenaCount, 1))
    arena.initialize(repeating: 0, count: max(plan.arenaCount, 1))
    let t = plan.spec.training
    rule = UpdateRule(
      learningRate: Float(t.learningRate), weightDecay: Float(t.weightDecay),
      momentum: Float(t.momentum),
      beta1: Float(t.beta1), beta2: Float(t.beta2), epsilon: Float(t.epsilon))
    initializeParameters(seed: seed ?? t.seed)
    _ = GemmWorkspace.current  // packing buffers exist before the first step
  }

  deinit { arena.deallocate() }

  /// The arena storage of buffer `id`.
  @inline(__always)
  public func pointer(_ id: BufferID) -> UnsafeMutablePointer<Float> { arena + plan[id].offset }

  /// A copy of a buffer's values (for saving and tests).
  public func values(_ id: BufferID) -> [Float] {
    Array(UnsafeBufferPointer(start: pointer(id), count: plan[id].count))
  }

  /// Overwrites a buffer's values.
  public func setValues(_ id: BufferID, _ values: [Float]) {
    precondition(values.count == plan[id].count)
    pointer(id).update(from: values, count: values.count)
  }

  /// Glorot-uniform U(±√(6/(fan_in+fan_out))) or He-uniform U(±√(6/fan_in)) weights, drawn in
  /// layer order, row by row, from SplitMix64(seed); zero biases.
  public func initializeParameters(seed: UInt64) {
    var rng = SeededGenerator(seed: seed)
    for (k, layer) in plan.spec.layers.enumerated() {
      let (fanOut, fanIn) = (plan[plan.weights[k]].shape[0], plan[plan.weights[k]].shape[1])
      let limit =
        layer.initializer == .he
        ? (6 / Double(fanIn)).squareRoot() : (6 / Double(fanIn + fanOut)).squareRoot()
      let w = pointer(plan.weights[k])
      for i in 0..<fanIn * fanOut { w[i] = Float(rng.uniform(-limit, limit)) }
      pointer(plan.biases[k]).update(repeating: 0, count: fanOut)
    }
    for range in plan.optimizerState {
      (arena + range.offset).update(repeating: 0, count: range.count)
    }
    step = 0
  }

  /// Copies the samples `indices` of `data` into the input and target buffers; returns the rows.
  @discardableResult
  public func loadBatch(_ data: Dataset, _ indices: ArraySlice<Int>) -> Int {
    precondition(indices.count <= plan.batchSize && data.inputs == plan[plan.input].shape[1])
    let (x, y) = (pointer(plan.input), pointer(plan.target))
    data.features.withUnsafeBufferPointer { f in
      data.targets.withUnsafeBufferPointer { t in
        for (row, sample) in indices.enumerated() {
          (x + row * data.inputs).update(
            from: f.baseAddress! + sample * data.inputs, count: data.inputs)
          (y + row * data.outputs).update(
            from: t.baseAddress! + sample * data.outputs, count: data.outputs)
        }
      }
    }
    return indices.count
  }

  /// x^1 … x^N for the first `rows` rows of the input buffer.
  public func forward(rows: Int) {
    for op in plan.forward { run(op, rows: rows) }
  }

  /// Σ over rows of the loss, and ∂L/∂z^N (L the mean over `rows`). Leaves x^N in the output.
  public func loss(rows: Int) -> Double {
    guard
      case .loss(let kind, let output, let target, let delta, let activation, let slope) = plan.loss
    else { return .nan }
    let cols = plan[output].shape[1]
    return lossForwardBackward(
      kind, out: pointer(output), target: pointer(target), delta: pointer(delta), rows: rows,
      cols: cols,
      activation: activation, slope: slope)
  }

  /// Zeroes the gradients, then accumulates ∂L/∂W^k and ∂L/∂b^k for k = N…1.
  public func backward(rows: Int) {
    (arena + plan.gradients.offset).update(repeating: 0, count: plan.gradients.count)
    for op in plan.backward { run(op, rows: rows) }
  }

  /// One optimizer step over all parameters.
  public func update() { run(plan.update, rows: 0) }

  /// forward, loss, backward, update; returns the batch's mean loss.
  public func trainStep(rows: Int) -> Double {
    forward(rows: rows)
    let total = loss(rows: rows)
    backward(rows: rows)
    update()
    return total / Double(rows)
  }

  /// Executes one op of the plan over the first `rows` rows (for timing single ops).
  public func run(_ op: Op, rows: Int) {
    switch op {
    case .dense(_, let input, let weight, let bias, let output, let activation, let slope):
      let (outputs, inputs) = (plan[weight].shape[0], plan[weight].shape[1])
      denseForward(
        x: pointer(input), w: pointer(weight), b: pointer(bias), y: pointer(output), rows: rows,
        inputs: inputs,
        outputs: outputs, activation, slope: slope)
    case .loss:
      _ = loss(rows: rows)
    case .denseBackward(
      _, let delta, let input, let weight, let dWeight, let dBias, let inputDelta, let activation,
      let slope):
      let (outputs, inputs) = (plan[weight].shape[0], plan[weight].shape[1])
      denseBackward(
        delta: pointer(delta), x: pointer(input), w: pointer(weight), dW: pointer(dWeight),
        db: pointer(dBias),
        dx: inputDelta.map(pointer), rows: rows, inputs: inputs, outputs: outputs, activation,
        slope: slope)
    case .update(let kind):
      step += 1
      let (p, g, n) = (
        arena + plan.parameters.offset, arena + plan.gradients.offset, plan.parameters.count
      )
      switch kind {
      case .sgd: sgdUpdate(p, g, count: n, rule)
      case .momentum: momentumUpdate(p, g, arena + plan.optimizerState[0].offset, count: n, rule)
      case .adam:
        adamUpdate(
          p, g, arena + plan.optimizerState[0].offset, arena + plan.optimizerState[1].offset,
          count: n,
          step: step, rule)
      }
    }
  }
}

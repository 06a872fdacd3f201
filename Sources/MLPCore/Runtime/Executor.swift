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
    bound.forward = plan.forward.map(bind)
    bound.loss = bind(plan.loss)
    bound.backward = plan.backward.map(bind)
    bound.update = bind(plan.update)
    bound.all = bound.forward + [bound.loss] + bound.backward + [bound.update]
  }

  /// The plan's ops with arena pointers in place of buffer ids.
  private var bound = BoundPlan()

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

  /// Parameters, optimizer state and step count, to return to with `restore`.
  public struct Snapshot: Sendable {
    let values: [Float]
    let step: Int
  }

  /// The trainable state now.
  public func snapshot() -> Snapshot {
    var values = Array(
      UnsafeBufferPointer(start: arena + plan.parameters.offset, count: plan.parameters.count))
    for range in plan.optimizerState {
      values += UnsafeBufferPointer(start: arena + range.offset, count: range.count)
    }
    return Snapshot(values: values, step: step)
  }

  /// Puts back the state of `snapshot` (one copy, no allocation).
  public func restore(_ snapshot: Snapshot) {
    snapshot.values.withUnsafeBufferPointer { v in
      var from = v.baseAddress!
      (arena + plan.parameters.offset).update(from: from, count: plan.parameters.count)
      from += plan.parameters.count
      for range in plan.optimizerState {
        (arena + range.offset).update(from: from, count: range.count)
        from += range.count
      }
    }
    step = snapshot.step
  }

  /// Copies the samples `indices` of `data` into the input and target buffers; returns the rows.
  /// Large batches are gathered by every thread of the pool: the rows are scattered over the
  /// data set, so this is bound by memory latency, and two threads keep twice the misses in flight.
  @discardableResult
  public func loadBatch<Indices: RandomAccessCollection<Int>>(_ data: Dataset, _ indices: Indices)
    -> Int
  {
    precondition(indices.count <= plan.batchSize && data.inputs == plan[plan.input].shape[1])
    let count = indices.count
    let parts = count * data.inputs >= 1 << 14 ? WorkerPool.shared.count : 1
    data.features.withUnsafeBufferPointer { f in
      data.targets.withUnsafeBufferPointer { t in
        let (x, y, inputs, outputs) = (
          pointer(plan.input), pointer(plan.target), data.inputs, data.outputs
        )
        WorkerPool.shared.run(parts) { part in
          for row in count * part / parts..<count * (part + 1) / parts {
            let sample = indices[indices.index(indices.startIndex, offsetBy: row)]
            (x + row * inputs).update(from: f.baseAddress! + sample * inputs, count: inputs)
            (y + row * outputs).update(from: t.baseAddress! + sample * outputs, count: outputs)
          }
        }
      }
    }
    return count
  }

  /// x^1 … x^N for the first `rows` rows of the input buffer.
  public func forward(rows: Int) {
    for op in bound.forward { execute(op, rows: rows) }
  }

  /// Σ over rows of the loss, and ∂L/∂z^N (L the mean over `rows`). Leaves x^N in the output.
  public func loss(rows: Int) -> Double { execute(bound.loss, rows: rows) }

  /// Writes ∂L/∂W^k and ∂L/∂b^k for k = N…1.
  public func backward(rows: Int) {
    for op in bound.backward { execute(op, rows: rows) }
  }

  /// One optimizer step over all parameters.
  public func update() { execute(bound.update, rows: 0) }

  /// forward, loss, backward, update; returns the batch's mean loss.
  public func trainStep(rows: Int) -> Double {
    forward(rows: rows)
    let total = loss(rows: rows)
    backward(rows: rows)
    update()
    return total / Double(rows)
  }

  /// Number of ops in a step: forward, loss, backward, update (for timing single ops).
  public var opCount: Int { bound.all.count }

  /// Executes op `index` of `forward + [loss] + backward + [update]` over the first `rows` rows.
  public func runOp(_ index: Int, rows: Int) { _ = execute(bound.all[index], rows: rows) }

  @discardableResult
  private func execute(_ op: BoundOp, rows: Int) -> Double {
    switch op {
    case .dense(let x, let w, let b, let y, let inputs, let outputs, let activation, let slope):
      denseForward(
        x: x, w: w, b: b, y: y, rows: rows, inputs: inputs, outputs: outputs, activation,
        slope: slope)
    case .loss(let kind, let out, let target, let delta, let cols, let activation, let slope):
      return lossForwardBackward(
        kind, out: out, target: target, delta: delta, rows: rows, cols: cols,
        activation: activation,
        slope: slope)
    case .denseBackward(
      let delta, let x, let w, let dW, let db, let dx, let inputs, let outputs, let activation,
      let slope):
      denseBackward(
        delta: delta, x: x, w: w, dW: dW, db: db, dx: dx, rows: rows, inputs: inputs,
        outputs: outputs,
        activation, slope: slope)
    case .update(let kind, let p, let g, let n, let state0, let state1):
      step += 1
      let (rule, t) = (rule, step)
      // Large models update in slices of whole cache lines, one per thread.
      let parts = n >= 1 << 16 ? WorkerPool.shared.count : 1
      WorkerPool.shared.run(parts) { part in
        let lo = n * part / parts / 16 * 16
        let hi = part == parts - 1 ? n : n * (part + 1) / parts / 16 * 16
        let (p, g, c) = (p! + lo, g! + lo, hi - lo)
        switch kind {
        case .sgd: sgdUpdate(p, g, count: c, rule)
        case .momentum: momentumUpdate(p, g, state0! + lo, count: c, rule)
        case .adam: adamUpdate(p, g, state0! + lo, state1! + lo, count: c, step: t, rule)
        }
      }
    }
    return 0
  }

  /// Resolves an op's buffer ids to arena pointers and sizes, once, at start-up.
  private func bind(_ op: Op) -> BoundOp {
    switch op {
    case .dense(_, let input, let weight, let bias, let output, let activation, let slope):
      return .dense(
        pointer(input), pointer(weight), pointer(bias), pointer(output), plan[weight].shape[1],
        plan[weight].shape[0], activation, slope)
    case .loss(let kind, let output, let target, let delta, let activation, let slope):
      return .loss(
        kind, pointer(output), pointer(target), pointer(delta), plan[output].shape[1], activation,
        slope)
    case .denseBackward(
      _, let delta, let input, let weight, let dWeight, let dBias, let inputDelta, let activation,
      let slope):
      return .denseBackward(
        pointer(delta), pointer(input), pointer(weight), pointer(dWeight), pointer(dBias),
        inputDelta.map(pointer), plan[weight].shape[1], plan[weight].shape[0], activation, slope)
    case .update(let kind):
      let state = plan.optimizerState.map { arena + $0.offset }
      return .update(
        kind, arena + plan.parameters.offset, arena + plan.gradients.offset, plan.parameters.count,
        state.first, state.dropFirst().first)
    }
  }

}

/// An op with its buffers resolved to arena pointers: executing it reads no plan metadata.
enum BoundOp {
  typealias P = UnsafeMutablePointer<Float>
  /// x, w, b, y, inputs, outputs, σ, slope
  case dense(P, P, P, P, Int, Int, Activation, Float)
  /// output, target, delta, columns, σ, slope
  case loss(LossKind, P, P, P, Int, Activation, Float)
  /// delta, x, w, dW, db, dx, inputs, outputs, σ of x, slope
  case denseBackward(P, P, P, P, P, P?, Int, Int, Activation, Float)
  /// parameters, gradients, count, state slots
  case update(OptimizerKind, P?, P?, Int, P?, P?)
}

/// The bound ops of one step.
struct BoundPlan {
  var forward: [BoundOp] = []
  var loss = BoundOp.update(.sgd, nil, nil, 0, nil, nil)
  var backward: [BoundOp] = []
  var update = BoundOp.update(.sgd, nil, nil, 0, nil, nil)
  var all: [BoundOp] = []
}

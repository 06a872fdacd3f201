// Runs an ExecutionPlan: one arena allocated at start-up, then forward / loss / backward /
// update over the plan's ops, bound once to arena pointers and run by the kernels' `execute`.
// Nothing here allocates after `init`, and nothing reports to the user: errors were the
// checker's job.

import Foundation

/// Owns the arena of one plan and executes its ops.
public final class Executor {
  public let plan: ExecutionPlan
  /// The one allocation: parameters, gradients, optimizer state and batch buffers.
  let arena: UnsafeMutablePointer<Float>
  /// Optimizer steps taken (Adam's t).
  public private(set) var step = 0
  /// Seeds the dropout masks (with the step and the layer).
  let dropoutSeed: UInt64

  /// Allocates and zeroes the arena, then initialises parameters from `seed`.
  public init(plan: ExecutionPlan, seed: UInt64) {
    self.plan = plan
    dropoutSeed = seed
    let raw = UnsafeMutableRawPointer.allocate(
      byteCount: max(plan.arenaCount, 1) * 4, alignment: 64)
    arena = raw.bindMemory(to: Float.self, capacity: max(plan.arenaCount, 1))
    arena.initialize(repeating: 0, count: max(plan.arenaCount, 1))
    initializeParameters(seed: seed)
    prepareGemmWorkspace()  // packing buffers exist before the first step
    boundForward = plan.forward.map(bind)
    boundInference = zip(plan.forward, boundForward).compactMap {
      if case .dropout = $0.0.innermost { nil } else { $0.1 }
    }
    boundLoss = plan.loss.map(bind)
    if case .loss(_, _, _, _, _, _, _, .some, _, _)? = boundLoss?.innermost {
      unweightedLoss = boundLoss!.replacingInnermost {
        guard case .loss(let k, let o, let t, let d, let c, let a, let p, _, let z, let ls) = $0
        else { return $0 }
        return .loss(
          k, output: o, target: t, delta: d, columns: c, activation: a, parameter: p,
          weights: nil, preActivation: z, labelSmoothing: ls)
      }
    }
    boundBeforeLoss = plan.beforeLoss.map(bind)
    boundAfterLoss = plan.afterLoss.map(bind)
    boundBackward = plan.backward.map(bind)
    boundUpdate = plan.update.map(bind)
    boundAll =
      boundForward + boundBeforeLoss + [boundLoss].compactMap { $0 } + boundAfterLoss
      + boundBackward + [boundUpdate].compactMap { $0 }
  }

  // The plan's ops with arena pointers in place of buffer ids.
  private var boundForward: [BoundOp] = []
  /// The forward ops without dropout.
  private var boundInference: [BoundOp] = []
  private var boundLoss: BoundOp?
  /// The loss without class weights, for evaluation (set when the training loss has them).
  private var unweightedLoss: BoundOp?
  /// An ensemble's target spread before the loss and members' mean after it.
  private var boundBeforeLoss: [BoundOp] = []
  private var boundAfterLoss: [BoundOp] = []
  private var boundBackward: [BoundOp] = []
  private var boundUpdate: BoundOp?
  private var boundAll: [BoundOp] = []

  deinit {
    // A helper whose part of a product was taken over may still be reading the arena.
    WorkerPool.shared.quiesce()
    arena.deallocate()
  }

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
  /// layer order, row by row, from SplitMix64(seed) (an ensemble's output layer member by
  /// member); zero biases; then each embedding table N(0, 1) row by row (as nn.Embedding
  /// starts), its unknown row 0; the periodic embeddings' frequencies N(0, σ²) truncated at
  /// ±3σ and their linear layers U(±1/√(2K)) (as `rtdl_num_embeddings`); the front scale and
  /// TabM's scales 1; an ensemble's adapters random signs ±1 (TabM-mini's start).
  public func initializeParameters(seed: UInt64) {
    var rng = SeededGenerator(seed: seed)
    for (k, layer) in plan.network.layers.enumerated() {
      let shape = plan[plan.weights[k]].shape
      let (fanOut, fanIn) = (shape[shape.count - 2], shape[shape.count - 1])
      let limit =
        layer.initializer == .he
        ? (6 / Double(fanIn)).squareRoot() : (6 / Double(fanIn + fanOut)).squareRoot()
      let w = pointer(plan.weights[k])
      for i in 0..<plan[plan.weights[k]].count { w[i] = Float(rng.uniform(-limit, limit)) }
      pointer(plan.biases[k]).update(repeating: 0, count: plan[plan.biases[k]].count)
    }
    for (table, id) in zip(plan.network.embeddings, plan.embeddings) {
      let e = pointer(id)
      for i in 0..<table.rows * table.dim { e[i] = Float(rng.normal()) }
      if table.unknownRow {
        (e + (table.rows - 1) * table.dim).update(repeating: 0, count: table.dim)
      }
    }
    for (tensor, id) in zip(plan.network.periodicTensors, plan.periodic) {
      let values = pointer(id)
      switch tensor.kind {
      case .frequencies(let sigma):
        // N(0, σ²) truncated at ±3σ, as `rtdl_num_embeddings` draws them (by rejection).
        for i in 0..<plan[id].count {
          var z = rng.normal()
          while abs(z) > 3 { z = rng.normal() }
          values[i] = Float(sigma * z)
        }
      case .weight(let inputs), .bias(let inputs):
        let limit = 1 / Double(inputs).squareRoot()
        for i in 0..<plan[id].count { values[i] = Float(rng.uniform(-limit, limit)) }
      }
    }
    if let s = plan.frontScale { pointer(s).update(repeating: 1, count: plan[s].count) }
    for s in plan.memberScales { pointer(s).update(repeating: 1, count: plan[s].count) }
    if let r = plan.adapter {
      let values = pointer(r)
      for i in 0..<plan[r].count { values[i] = rng.uniform(0, 1) < 0.5 ? -1 : 1 }
    }
    for range in plan.optimizerState {
      (arena + range.offset).update(repeating: 0, count: range.count)
    }
    step = 0
  }

  /// Runs `body` with the parameters' moving average in place of the parameters (when the plan
  /// keeps one; else with the parameters): the two ranges are swapped before and after.
  public func withAveragedParameters<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
    guard let average = plan.average else { return try body() }
    let (p, a) = (arena + plan.parameters.offset, arena + average.offset)
    let swap = {
      for i in 0..<average.count { (p[i], a[i]) = (a[i], p[i]) }
    }
    swap()
    defer { swap() }
    return try body()
  }

  /// Parameters, optimizer state and step count, to return to with `restore`.
  public struct Snapshot: Sendable, Equatable {
    /// Parameters, then each optimizer state slot, as laid out in the arena.
    public let values: [Float]
    /// Optimizer steps taken.
    public let step: Int

    public init(values: [Float], step: Int) {
      (self.values, self.step) = (values, step)
    }
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
    precondition(
      snapshot.values.count == plan.parameters.count * (1 + plan.optimizerState.count))
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

  /// Copies the samples `indices` of `data` into the input and target buffers (the target only
  /// in a training plan); returns the rows.
  @discardableResult
  public func loadBatch(_ data: Dataset, _ indices: ArraySlice<Int>) -> Int {
    precondition(indices.count <= plan.batchSize && data.inputs == plan[plan.input].shape[1])
    precondition(indices.allSatisfy { $0 >= 0 && $0 < data.count })
    data.features.withUnsafeBufferPointer { f in
      data.targets.withUnsafeBufferPointer { t in
        indices.withUnsafeBufferPointer { i in
          gatherRows(
            features: f.baseAddress!, targets: t.baseAddress!, indices: i.baseAddress!,
            rows: i.count, inputs: data.inputs, outputs: data.outputs, x: pointer(plan.input),
            y: plan.target.map(pointer))
        }
      }
    }
    fillSampleWeights(data, indices)
    return indices.count
  }

  /// Each loaded row's class weight (when the plan weighs the loss by class).
  private func fillSampleWeights<C: Collection<Int>>(_ data: Dataset, _ samples: C) {
    guard let id = plan.sampleWeights, let weights = plan.classWeights else { return }
    let w = pointer(id)
    guard let labels = data.labels else {
      w.update(repeating: 1, count: samples.count)
      return
    }
    for (r, i) in samples.enumerated() { w[r] = weights[labels[i]] }
  }

  /// Copies the samples `indices` of `data` (see `loadBatch(_:_:)`).
  @discardableResult
  public func loadBatch(_ data: Dataset, _ indices: [Int]) -> Int {
    loadBatch(data, indices[...])
  }

  /// Copies the consecutive samples `rows` of `data` into the input and target buffers.
  @discardableResult
  public func loadBatch(_ data: Dataset, _ rows: Range<Int>) -> Int {
    precondition(rows.count <= plan.batchSize && data.inputs == plan[plan.input].shape[1])
    precondition(rows.lowerBound >= 0 && rows.upperBound <= data.count)
    data.features.withUnsafeBufferPointer { f in
      pointer(plan.input).update(
        from: f.baseAddress! + rows.lowerBound * data.inputs, count: rows.count * data.inputs)
    }
    if let target = plan.target {
      data.targets.withUnsafeBufferPointer { t in
        pointer(target).update(
          from: t.baseAddress! + rows.lowerBound * data.outputs, count: rows.count * data.outputs)
      }
    }
    fillSampleWeights(data, rows)
    return rows.count
  }

  /// x^1 … x^N for the first `rows` rows of the input buffer; `training` applies dropout, with
  /// the masks of the coming optimizer step (the same masks however often it is repeated).
  public func forward(rows: Int, training: Bool = false) {
    for op in training ? boundForward : boundInference {
      execute(op, rows: rows, step: step, firstRow: firstRow, seed: dropoutSeed)
    }
  }

  /// Where the loaded rows start in the step's whole batch (a rank's share); dropout masks
  /// depend on it, so that a split batch draws the masks the whole batch would.
  public var firstRow = 0

  /// Whether the plan drops values in training.
  public var hasDropout: Bool { boundForward.count != boundInference.count }

  /// Σ over rows of the loss, and ∂L/∂z^N (L the mean over `rows`). Leaves x^N in the output.
  /// `weighted`: each row's loss × its class weight, as training minimises (evaluation reports
  /// the plain loss, as Keras does with `class_weight`).
  /// In an ensemble, the output is the members' averaged x^N, and the loss the members' mean
  /// when `weighted` (what training minimises) or else the loss of that average (what the
  /// ensemble predicts, as evaluation reports it).
  public func loss(rows: Int, weighted: Bool = false) -> Double {
    for op in boundBeforeLoss { execute(op, rows: rows, step: step) }
    let total = execute(
      weighted ? boundLoss! : unweightedLoss ?? boundLoss!, rows: rows, step: step)
    for op in boundAfterLoss { execute(op, rows: rows, step: step) }
    return plan.network.members > 1 && !weighted ? averagedLoss(rows: rows) : total
  }

  /// Σ over rows of the loss of the output (the members' average) against the targets, with
  /// the loss's label smoothing: −Σ y log p, −y log p − (1 − y) log(1 − p), or ½‖y − p‖².
  private func averagedLoss(rows: Int) -> Double {
    let (p, y) = (pointer(plan.output), pointer(plan.target!))
    let cols = plan[plan.output].shape[1]
    let kind = plan.network.loss
    var smoothing = 0.0
    if case .loss(_, _, _, _, _, _, _, _, _, let ls)? = plan.loss?.innermost {
      smoothing = Double(ls)
    }
    let spread = smoothing / Double(kind == .binaryCrossEntropy ? 2 : cols)
    let tiny = Double(Float.leastNonzeroMagnitude)
    var total = 0.0
    for i in 0..<rows * cols {
      let (pc, yc) = (Double(p[i]), (1 - smoothing) * Double(y[i]) + spread)
      switch kind {
      case .mse: total += 0.5 * (yc - pc) * (yc - pc)
      case .crossEntropy: total -= yc * log(max(pc, tiny))
      case .binaryCrossEntropy:
        total -= yc * log(max(pc, tiny)) + (1 - yc) * log(max(1 - pc, tiny))
      }
    }
    return total
  }

  /// Writes ∂L/∂W^k and ∂L/∂b^k for k = N…1.
  public func backward(rows: Int) {
    for op in boundBackward { execute(op, rows: rows, step: step) }
  }

  /// One optimizer step over all parameters at learning rate η (the schedule's, passed when the
  /// step runs); false when a parameter is not finite afterwards.
  @discardableResult
  public func update(learningRate η: Float) -> Bool {
    step += 1
    return execute(boundUpdate!, rows: 0, step: step, learningRate: η) == 0
  }

  /// forward, loss, backward, update at learning rate η; returns the batch's mean loss, or NaN
  /// when a parameter is not finite after the update (training must stop: see
  /// `firstNonFiniteTensor`).
  public func trainStep(rows: Int, learningRate η: Float) -> Double {
    let total = computeGradients(rows: rows)
    return update(learningRate: η) ? total / Double(rows) : .nan
  }

  /// forward (with dropout), loss and backward over `rows` rows: the gradient of their mean
  /// loss in the gradient region; returns their summed loss.
  public func computeGradients(rows: Int) -> Double {
    forward(rows: rows, training: true)
    let total = loss(rows: rows, weighted: true)
    backward(rows: rows)
    return total
  }

  /// All parameters, one contiguous region (padding included).
  public var parameterRegion: UnsafeBufferPointer<Float> {
    UnsafeBufferPointer(start: arena + plan.parameters.offset, count: plan.parameters.count)
  }

  /// The gradients of all parameters, one contiguous region (laid out like the parameters).
  public var gradientRegion: UnsafeMutableBufferPointer<Float> {
    let g = plan.gradients!
    return UnsafeMutableBufferPointer(start: arena + g.offset, count: g.count)
  }

  /// Multiplies every gradient by `factor`.
  public func scaleGradients(_ factor: Float) {
    guard factor != 1 else { return }
    let g = gradientRegion
    for i in g.indices { g[i] *= factor }
  }

  /// Sets every gradient to 0 (a rank without rows in a step).
  public func zeroGradients() { gradientRegion.update(repeating: 0) }

  /// The name of the first parameter tensor holding a NaN or an infinity, if any.
  public func firstNonFiniteTensor() -> String? {
    plan.parameterTensors.sorted { $0.index < $1.index }
      .first { values($0).contains { !$0.isFinite } }.map { plan[$0].name }
  }

  /// Number of ops in a step: forward, loss, backward, update (for timing single ops).
  public var opCount: Int { boundAll.count }

  /// Executes op `index` of `plan.ops` over the first `rows` rows (an update at rate η).
  public func runOp(_ index: Int, rows: Int, learningRate η: Float) {
    execute(boundAll[index], rows: rows, step: step + 1, learningRate: η, seed: dropoutSeed)
  }

  /// Resolves an op's buffer ids to arena pointers, once, at start-up.
  private func bind(_ op: Op) -> BoundOp { op.map(pointer) }
}

// One op of a training step with its buffers already resolved to pointers, and the function
// that runs it. The plan compiler (in MLPCore) decides shapes and offsets; by the time an op
// gets here there is nothing left to check, which is why this lives with the kernels.

/// An op with its buffers resolved to arena pointers: executing it reads no plan metadata.
public enum BoundOp: @unchecked Sendable {
  public typealias P = UnsafeMutablePointer<Float>
  /// x, w, b, y, inputs, outputs, σ, σ's parameter
  case dense(P, P, P, P, Int, Int, Activation, Float)
  /// output, target, delta, columns, σ, σ's parameter, row weights
  case loss(LossKind, P, P, P, Int, Activation, Float, P?)
  /// delta, x, w, dW, db, dx, inputs, outputs, σ of x, its parameter
  case denseBackward(P, P, P, P, P, P?, Int, Int, Activation, Float)
  /// output, mask, columns, rate, seed, layer (the mask is drawn from seed, step and layer)
  case dropout(P, P, Int, Float, UInt64, Int)
  /// delta, output, mask, columns, σ of the output, its parameter
  case dropoutBackward(P, P, P, Int, Activation, Float)
  /// rule, parameters, gradients, count, state slots
  case update(OptimizerKind, UpdateRule, P, P, Int, P?, P?, P?)
}

/// Runs `op` over the first `rows` rows; returns the loss sum for `.loss`; for `.update`, 0 when
/// every parameter is finite afterwards and 1 when one is not; else 0. `step` is the optimizer
/// step (Adam's t ≥ 1) and `learningRate` the rate of this update for `.update` (the rule's
/// own rate when nil): the schedule's rate is passed when the step runs, not bound into the op.
/// `firstRow` is the position of row 0 in the whole batch (for dropout masks when the batch is
/// split among ranks).
@discardableResult
public func execute(
  _ op: BoundOp, rows: Int, step: Int, firstRow: Int = 0, learningRate: Float? = nil
) -> Double {
  switch op {
  case .dense(let x, let w, let b, let y, let inputs, let outputs, let activation, let p):
    denseForward(
      x: x, w: w, b: b, y: y, rows: rows, inputs: inputs, outputs: outputs, activation,
      parameter: p)
  case .loss(let kind, let out, let target, let delta, let cols, let activation, let p, let w):
    guard let w else {
      return lossForwardBackward(
        kind, out: out, target: target, delta: delta, rows: rows, cols: cols,
        activation: activation, parameter: p)
    }
    // Weighted: row by row, each row's loss and gradient × its weight, over the same 1/rows.
    var total = 0.0
    let scale = 1 / Float(rows)
    for r in 0..<rows {
      let at = r * cols
      total +=
        Double(w[r])
        * lossForwardBackward(
          kind, out: out + at, target: target + at, delta: delta + at, rows: 1, cols: cols,
          activation: activation, parameter: p)
      for c in 0..<cols { delta[at + c] *= w[r] * scale }
    }
    return total
  case .denseBackward(
    let delta, let x, let w, let dW, let db, let dx, let inputs, let outputs, let activation,
    let p):
    denseBackward(
      delta: delta, x: x, w: w, dW: dW, db: db, dx: dx, rows: rows, inputs: inputs,
      outputs: outputs, activation, parameter: p)
  case .dropout(let x, let mask, let cols, let rate, let seed, let layer):
    dropoutForward(
      x, mask: mask, count: rows * cols, rate: rate, seed: seed, layer: layer, step: step,
      first: firstRow * cols)
  case .dropoutBackward(let delta, let x, let mask, let cols, let activation, let p):
    dropoutBackward(
      delta: delta, x: x, mask: mask, rows: rows, cols: cols, activation, parameter: p)
  case .update(let kind, let bound, let p, let g, let n, let state0, let state1, let state2):
    var rule = bound
    if let learningRate { rule.learningRate = learningRate }
    if rule.clipNorm != nil || rule.clipValue != nil { clipGradient(g, count: n, rule) }
    // Large models update in slices of whole cache lines, one per thread.
    let parts = n >= 1 << 16 ? WorkerPool.shared.count : 1
    return withUnsafeTemporaryAllocation(of: Bool.self, capacity: parts) { finite in
      WorkerPool.shared.run(parts) { part in
        let lo = n * part / parts / 16 * 16
        let hi = part == parts - 1 ? n : n * (part + 1) / parts / 16 * 16
        let (p, g, c) = (p + lo, g + lo, hi - lo)
        switch kind {
        case .sgd: sgdUpdate(p, g, count: c, rule)
        case .momentum: momentumUpdate(p, g, state0! + lo, count: c, rule)
        case .nesterov: nesterovUpdate(p, g, state0! + lo, count: c, rule)
        case .adam: adamUpdate(p, g, state0! + lo, state1! + lo, count: c, step: step, rule)
        case .adamw: adamwUpdate(p, g, state0! + lo, state1! + lo, count: c, step: step, rule)
        case .rmsprop:
          rmspropUpdate(p, g, state0! + lo, state1! + lo, state2! + lo, count: c, rule)
        }
        finite[part] = allFinite(p, count: c)
      }
      return finite.allSatisfy { $0 } ? 0 : 1
    }
  }
  return 0
}

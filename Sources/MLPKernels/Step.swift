// The ops of a training step, defined once and generic over how they name buffers: the plan
// compiler (in MLPCore) emits them over buffer ids (`Op`), checking every shape, and the executor
// binds them to arena pointers (`BoundOp`) once; `execute` runs a bound op. By the time an op
// gets here there is nothing left to check, which is why this lives with the kernels. What
// changes from step to step (rows, step number, learning rate, dropout seed) is passed to
// `execute`, never bound into an op.

/// One step of forward, loss, backward or update, its buffers named by `Ref`.
public enum StepOp<Ref> {
  /// x^0 (B, outputs) from the loaded rows (B, inputs): plain columns copied in runs, each
  /// embedded column's code replaced by its table's row.
  case embed(
    input: Ref, output: Ref, inputs: Int, outputs: Int, runs: [ColumnRun],
    lookups: [EmbeddingLookup<Ref>])
  /// ∂L/∂E for every table (lookups name the gradient tables), scattered from delta = ∂L/∂x^0.
  case embedBackward(
    delta: Ref, input: Ref, inputs: Int, outputs: Int, lookups: [EmbeddingLookup<Ref>])
  /// Periodic embeddings of numeric columns into x^0 (B, outputs) from the loaded rows (B,
  /// inputs): each lookup's [cos 2πf·x, sin 2πf·x] kept in `features` (B, width), its columns
  /// of x^0 ReLU(v·Wᵀ + b).
  case periodic(
    input: Ref, output: Ref, features: Ref, inputs: Int, outputs: Int, width: Int,
    lookups: [PeriodicLookup<Ref>])
  /// ∂L/∂f, ∂L/∂W, ∂L/∂b of every periodic embedding (`gradients` name them), from
  /// delta = ∂L/∂x^0 (its embedded columns × ReLU' in place); `featuresDelta` (B, width) is
  /// scratch for ∂L/∂v.
  case periodicBackward(
    delta: Ref, input: Ref, output: Ref, features: Ref, featuresDelta: Ref, inputs: Int,
    outputs: Int, width: Int, lookups: [PeriodicLookup<Ref>], gradients: [PeriodicLookup<Ref>])
  /// The learned front scale: output (B, C) = input (B, C) ⊙ scale (C).
  case frontScale(input: Ref, scale: Ref, output: Ref, columns: Int)
  /// ∂L/∂s = Σ_rows delta ⊙ input; with `inputDelta`, ∂L/∂input = delta ⊙ scale.
  case frontScaleBackward(
    delta: Ref, input: Ref, scale: Ref, scaleGradient: Ref, inputDelta: Ref?, columns: Int)
  /// x^k = σ^k(x^{k-1} · W^kᵀ + b^k); input (B, I), weight (O, I), bias (O), output (B, O);
  /// with `preActivation` (B, O), z^k is kept there too (training, activations that save z).
  case dense(
    layer: Int, input: Ref, weight: Ref, bias: Ref, output: Ref, inputs: Int, outputs: Int,
    activation: Activation, parameter: Float, preActivation: Ref?)
  /// l = mean over rows of the loss (each row's × its weight, when there are weights);
  /// delta = ∂L/∂z^N (fused with the output activation); output, target, delta (B, C); σ' of an
  /// unfused output activation that saves z comes from `preActivation`; `labelSmoothing` ε
  /// replaces the targets by (1 − ε)·y + ε/K (classification losses).
  case loss(
    LossKind, output: Ref, target: Ref, delta: Ref, columns: Int, activation: Activation,
    parameter: Float, weights: Ref?, preActivation: Ref?, labelSmoothing: Float)
  /// ∂L/∂W^k += deltaᵀ · input; ∂L/∂b^k += Σ_rows delta; and, unless k = 1,
  /// inputDelta = (delta · W^k) ⊙ σ^{k-1}'(z^{k-1}) with σ' taken from the input activation, or
  /// from z^{k-1} (`inputPreActivation`) when that activation saves it.
  case denseBackward(
    layer: Int, delta: Ref, input: Ref, weight: Ref, weightGradient: Ref, biasGradient: Ref,
    inputDelta: Ref?, inputs: Int, outputs: Int, inputActivation: Activation,
    inputParameter: Float, inputPreActivation: Ref?)
  /// A BatchEnsemble layer over `members` member-major copies of the rows: x^k =
  /// σ((x ⊙ r_m)·Wᵀ ⊙ s_m + b_m), r (K, I) absent for layer 1, s and b (K, O); `scaled` (K·B, I)
  /// and `product` (K·B, O) keep x ⊙ r_m and the product for the backward pass.
  case batchEnsemble(
    layer: Int, input: Ref, inputScale: Ref?, scaled: Ref, weight: Ref, product: Ref,
    outputScale: Ref, bias: Ref, output: Ref, preActivation: Ref?, members: Int, inputs: Int,
    outputs: Int, activation: Activation, parameter: Float)
  /// Its gradients from delta = ∂L/∂z^k: W, s, b, r (when the layer has one) and, with
  /// `inputDelta`, ∂L/∂x^{k-1} ⊙ σ^{k-1}' (σ' from the input or `inputPreActivation`).
  case batchEnsembleBackward(
    layer: Int, delta: Ref, input: Ref, inputScale: Ref?, scaled: Ref, weight: Ref, product: Ref,
    outputScale: Ref, inputScaleGradient: Ref?, weightGradient: Ref, outputScaleGradient: Ref,
    biasGradient: Ref, inputDelta: Ref?, members: Int, inputs: Int, outputs: Int,
    inputActivation: Activation, inputParameter: Float, inputPreActivation: Ref?)
  /// TabM-mini's layer 1 over inputs that may be runs of ones and zeros: member m's rows of
  /// output (K·B, O) are σ((input (B, I) ⊙ r_m) · Wᵀ + b), rows that are runs from their terms
  /// (AdaptedDense.swift), the others through their copies ⊙ r_m in `copies` (K·B, I) and one
  /// product; z kept in `preActivation` when given.
  case adaptedDense(
    layer: Int, input: Ref, adapter: Ref, weight: Ref, bias: Ref, copies: Ref,
    runs: RunScratch<Ref>, output: Ref, preActivation: Ref?, members: Int, inputs: Int,
    outputs: Int, activation: Activation, parameter: Float)
  /// TabM-mini's layer 1 backward (over its members' rows of input ⊙ r_m), with input (B, I)
  /// the rows before the adapters r (K, I): from delta = ∂L/∂z (K·B, O), with G_m =
  /// delta_mᵀ · input in `memberGradients` (K, O, I), ∂L/∂W = Σ_m G_m ⊙ r_m,
  /// ∂L/∂r_m = Σ_o G_m ⊙ W, ∂L/∂b = Σ delta; with `inputDelta`, ∂L/∂input =
  /// Σ_m delta_m · (W ⊙ r_m), W ⊙ r_m built in `memberWeights` (K, O, I). With `runs` (after
  /// `adaptedDense`), the rows that are runs take their terms, and `copies` is scratch.
  case adaptedDenseBackward(
    layer: Int, delta: Ref, input: Ref, adapter: Ref, memberWeights: Ref?, weight: Ref,
    runs: RunScratch<Ref>?, copies: Ref?,
    weightGradient: Ref, biasGradient: Ref, adapterGradient: Ref, memberGradients: Ref,
    inputDelta: Ref?, members: Int, inputs: Int, outputs: Int)
  /// Training only: draws layer k's mask (seeded by the step) and multiplies its output by it.
  case dropout(layer: Int, output: Ref, mask: Ref, columns: Int, rate: Float)
  /// delta ← delta ⊙ mask ⊙ σ^k'(z^k), σ' from z^k (`preActivation`) when the activation saves
  /// it, else from the output with the mask undone first (dropped values get delta 0); comes
  /// after the backward op that read the masked output.
  case dropoutBackward(
    layer: Int, delta: Ref, output: Ref, mask: Ref, columns: Int, activation: Activation,
    parameter: Float, preActivation: Ref?)
  /// Every parameter ← the optimizer's step over the flat parameter, gradient and state ranges
  /// (`optimizer.kind.stateSlots` of them), after clipping the gradient, the weight decay of
  /// each run of the range times its `decay` factor (runs in order, the last ending at `count`);
  /// then, with `average`, the exponential moving average of the parameters (decay d) takes the
  /// new values in.
  case update(
    UpdateRule, clipping: GradientClipping, parameters: Ref, gradients: Ref, count: Int,
    decay: [DecaySpan], state: StateSlots<Ref>, average: ParameterAverage<Ref>?)
  /// An ensemble's batch (B, C) spread into `members` member-major copies (K·B, C), copy m
  /// × the adapter r_m (K, C) when there is one (the input; targets and loss weights have none).
  case ensembleSpread(input: Ref, adapter: Ref?, output: Ref, members: Int, columns: Int)
  /// ∂L/∂r_m = Σ_rows delta_m ⊙ input; with `inputDelta`, ∂L/∂input = Σ_m delta_m ⊙ r_m (without
  /// adapters, independent members: Σ_m delta_m).
  case ensembleSpreadBackward(
    delta: Ref, input: Ref, adapter: Ref?, adapterGradient: Ref?, inputDelta: Ref?, members: Int,
    columns: Int)
  /// The ensemble's prediction: output (B, C) = the mean of the members' input (K·B, C).
  case ensembleMean(input: Ref, output: Ref, members: Int, columns: Int)
  /// `op` over every member's rows at once (K·B rows, member-major); a loss returns the
  /// members' mean.
  indirect case members(Int, StepOp)
  /// `op`, a dense layer or its backward, once per member: over member m's rows and its own
  /// slice of the weight, bias and their gradients (an ensemble's output layers).
  indirect case eachMember(Int, StepOp)

  /// The op inside the ensemble wrappers (`members`, `eachMember`), or this op.
  public var innermost: StepOp {
    switch self {
    case .members(_, let op), .eachMember(_, let op): op.innermost
    default: self
    }
  }

  /// This op, its innermost op replaced by `f`'s.
  public func replacingInnermost(_ f: (StepOp) -> StepOp) -> StepOp {
    switch self {
    case .members(let k, let op): .members(k, op.replacingInnermost(f))
    case .eachMember(let k, let op): .eachMember(k, op.replacingInnermost(f))
    default: f(self)
    }
  }

  /// The same op over other buffer references.
  public func map<T>(_ f: (Ref) -> T) -> StepOp<T> {
    switch self {
    case .embed(let x, let y, let i, let o, let runs, let lookups):
      .embed(
        input: f(x), output: f(y), inputs: i, outputs: o, runs: runs,
        lookups: lookups.map { $0.map(f) })
    case .embedBackward(let d, let x, let i, let o, let lookups):
      .embedBackward(
        delta: f(d), input: f(x), inputs: i, outputs: o, lookups: lookups.map { $0.map(f) })
    case .periodic(let x, let y, let v, let i, let o, let w, let lookups):
      .periodic(
        input: f(x), output: f(y), features: f(v), inputs: i, outputs: o, width: w,
        lookups: lookups.map { $0.map(f) })
    case .periodicBackward(let d, let x, let y, let v, let dv, let i, let o, let w, let l, let g):
      .periodicBackward(
        delta: f(d), input: f(x), output: f(y), features: f(v), featuresDelta: f(dv), inputs: i,
        outputs: o, width: w, lookups: l.map { $0.map(f) }, gradients: g.map { $0.map(f) })
    case .frontScale(let x, let s, let y, let c):
      .frontScale(input: f(x), scale: f(s), output: f(y), columns: c)
    case .frontScaleBackward(let d, let x, let s, let ds, let dx, let c):
      .frontScaleBackward(
        delta: f(d), input: f(x), scale: f(s), scaleGradient: f(ds), inputDelta: dx.map(f),
        columns: c)
    case .dense(let k, let x, let w, let b, let y, let i, let o, let act, let p, let z):
      .dense(
        layer: k, input: f(x), weight: f(w), bias: f(b), output: f(y), inputs: i, outputs: o,
        activation: act, parameter: p, preActivation: z.map(f))
    case .loss(let kind, let y, let t, let d, let c, let act, let p, let w, let z, let smoothing):
      .loss(
        kind, output: f(y), target: f(t), delta: f(d), columns: c, activation: act, parameter: p,
        weights: w.map(f), preActivation: z.map(f), labelSmoothing: smoothing)
    case .denseBackward(
      let k, let d, let x, let w, let dw, let db, let dx, let i, let o, let a, let p, let z):
      .denseBackward(
        layer: k, delta: f(d), input: f(x), weight: f(w), weightGradient: f(dw),
        biasGradient: f(db), inputDelta: dx.map(f), inputs: i, outputs: o, inputActivation: a,
        inputParameter: p, inputPreActivation: z.map(f))
    case .batchEnsemble(
      let k, let x, let r, let u, let w, let p, let s, let b, let y, let z, let n, let i, let o,
      let act, let a):
      .batchEnsemble(
        layer: k, input: f(x), inputScale: r.map(f), scaled: f(u), weight: f(w), product: f(p),
        outputScale: f(s), bias: f(b), output: f(y), preActivation: z.map(f), members: n,
        inputs: i, outputs: o, activation: act, parameter: a)
    case .batchEnsembleBackward(
      let k, let d, let x, let r, let u, let w, let p, let s, let dr, let dw, let ds, let db,
      let dx, let n, let i, let o, let act, let a, let z):
      .batchEnsembleBackward(
        layer: k, delta: f(d), input: f(x), inputScale: r.map(f), scaled: f(u), weight: f(w),
        product: f(p), outputScale: f(s), inputScaleGradient: dr.map(f), weightGradient: f(dw),
        outputScaleGradient: f(ds), biasGradient: f(db), inputDelta: dx.map(f), members: n,
        inputs: i, outputs: o, inputActivation: act, inputParameter: a,
        inputPreActivation: z.map(f))
    case .adaptedDense(
      let k, let x, let r, let w, let b, let u, let runs, let y, let z, let n, let i, let o,
      let act, let a):
      .adaptedDense(
        layer: k, input: f(x), adapter: f(r), weight: f(w), bias: f(b), copies: f(u),
        runs: runs.map(f), output: f(y), preActivation: z.map(f), members: n, inputs: i,
        outputs: o, activation: act, parameter: a)
    case .adaptedDenseBackward(
      let k, let d, let x, let r, let wm, let w, let runs, let u, let dw, let db, let dr, let g,
      let dx, let n, let i, let o):
      .adaptedDenseBackward(
        layer: k, delta: f(d), input: f(x), adapter: f(r), memberWeights: wm.map(f), weight: f(w),
        runs: runs.map { $0.map(f) }, copies: u.map(f),
        weightGradient: f(dw), biasGradient: f(db), adapterGradient: f(dr),
        memberGradients: f(g), inputDelta: dx.map(f), members: n, inputs: i, outputs: o)
    case .dropout(let k, let x, let m, let c, let rate):
      .dropout(layer: k, output: f(x), mask: f(m), columns: c, rate: rate)
    case .dropoutBackward(let k, let d, let x, let m, let c, let a, let p, let z):
      .dropoutBackward(
        layer: k, delta: f(d), output: f(x), mask: f(m), columns: c, activation: a, parameter: p,
        preActivation: z.map(f))
    case .update(
      let optimizer, let clipping, let p, let g, let n, let decay, let state, let average):
      .update(
        optimizer, clipping: clipping, parameters: f(p), gradients: f(g), count: n,
        decay: decay, state: state.map(f),
        average: average.map { ParameterAverage(values: f($0.values), decay: $0.decay) })
    case .ensembleSpread(let x, let r, let y, let k, let c):
      .ensembleSpread(input: f(x), adapter: r.map(f), output: f(y), members: k, columns: c)
    case .ensembleSpreadBackward(let d, let x, let r, let dr, let dx, let k, let c):
      .ensembleSpreadBackward(
        delta: f(d), input: f(x), adapter: r.map(f), adapterGradient: dr.map(f),
        inputDelta: dx.map(f),
        members: k, columns: c)
    case .ensembleMean(let x, let y, let k, let c):
      .ensembleMean(input: f(x), output: f(y), members: k, columns: c)
    case .members(let k, let op): .members(k, op.map(f))
    case .eachMember(let k, let op): .eachMember(k, op.map(f))
    }
  }
}

extension StepOp where Ref == UnsafeMutablePointer<Float> {
  /// Member m's share of a dense op or its backward over `rows` rows per member: its rows of
  /// every batch buffer and its slice of the weight, bias and gradients.
  /// A member's layer's inputs × outputs (what `member` takes: dense layers), 0 for other ops.
  var memberWidths: Int {
    switch self {
    case .dense(_, _, _, _, _, let i, let o, _, _, _): i * o
    case .denseBackward(_, _, _, _, _, _, _, let i, let o, _, _, _): i * o
    default: 0
    }
  }

  func member(_ m: Int, rows: Int) -> StepOp {
    switch self {
    case .dense(let k, let x, let w, let b, let y, let i, let o, let act, let p, let z):
      return .dense(
        layer: k, input: x + m * rows * i, weight: w + m * o * i, bias: b + m * o,
        output: y + m * rows * o, inputs: i, outputs: o, activation: act, parameter: p,
        preActivation: z.map { $0 + m * rows * o })
    case .denseBackward(
      let k, let d, let x, let w, let dw, let db, let dx, let i, let o, let a, let p, let z):
      return .denseBackward(
        layer: k, delta: d + m * rows * o, input: x + m * rows * i, weight: w + m * o * i,
        weightGradient: dw + m * o * i, biasGradient: db + m * o,
        inputDelta: dx.map { $0 + m * rows * i }, inputs: i, outputs: o, inputActivation: a,
        inputParameter: p, inputPreActivation: z.map { $0 + m * rows * i })
    default:
      preconditionFailure("only dense layers run once per member")
    }
  }
}

extension StepOp: Sendable where Ref: Sendable {}

/// An op with its buffers resolved to arena pointers: executing it reads no plan metadata.
public typealias BoundOp = StepOp<UnsafeMutablePointer<Float>>

/// Runs `op` over the first `rows` rows; returns the loss sum for `.loss`; for `.update`, 0 when
/// every parameter is finite afterwards and 1 when one is not; else 0. `step` is the optimizer
/// step (Adam's t ≥ 1) and the dropout masks' step; `learningRate` is the rate of this update
/// (the schedule's, passed when the step runs); `seed` seeds the dropout masks. `firstRow` is the
/// position of row 0 in the whole batch (for dropout masks when the batch is split among ranks).
@discardableResult
public func execute(
  _ op: BoundOp, rows: Int, step: Int, firstRow: Int = 0, learningRate: Float = 0,
  seed: UInt64 = 0
) -> Double {
  switch op {
  case .embed(let x, let y, let inputs, let outputs, let runs, let lookups):
    embedForward(
      x: x, y: y, rows: rows, inputs: inputs, outputs: outputs, runs: runs, lookups: lookups)
  case .embedBackward(let delta, let x, let inputs, let outputs, let lookups):
    embedBackward(
      delta: delta, x: x, rows: rows, inputs: inputs, outputs: outputs, lookups: lookups)
  case .periodic(let x, let y, let v, let inputs, let outputs, let width, let lookups):
    periodicForward(
      x: x, y: y, v: v, rows: rows, inputs: inputs, outputs: outputs, width: width,
      lookups: lookups)
  case .periodicBackward(
    let delta, let x, let y, let v, let dv, let inputs, let outputs, let width, let lookups,
    let gradients):
    periodicBackward(
      delta: delta, x: x, y: y, v: v, dv: dv, rows: rows, inputs: inputs, outputs: outputs,
      width: width, lookups: lookups, gradients: gradients)
  case .frontScale(let x, let s, let y, let cols):
    frontScaleForward(x: x, s: s, y: y, rows: rows, cols: cols)
  case .frontScaleBackward(let delta, let x, let s, let ds, let dx, let cols):
    frontScaleBackward(delta: delta, x: x, s: s, ds: ds, dx: dx, rows: rows, cols: cols)
  case .dense(_, let x, let w, let b, let y, let inputs, let outputs, let activation, let p, let z):
    denseForward(
      x: x, w: w, b: b, y: y, z: z, rows: rows, inputs: inputs, outputs: outputs, activation,
      parameter: p)
  case .loss(
    let kind, let out, let target, let delta, let cols, let activation, let p, let w, let z,
    let smoothing):
    guard let w else {
      return lossForwardBackward(
        kind, out: out, target: target, delta: delta, preActivation: z, rows: rows, cols: cols,
        activation: activation, parameter: p, labelSmoothing: smoothing)
    }
    // Weighted: row by row, each row's loss and gradient × its weight, over the same 1/rows.
    var total = 0.0
    let scale = 1 / Float(rows)
    for r in 0..<rows {
      let at = r * cols
      total +=
        Double(w[r])
        * lossForwardBackward(
          kind, out: out + at, target: target + at, delta: delta + at,
          preActivation: z.map { UnsafePointer($0 + at) }, rows: 1, cols: cols,
          activation: activation, parameter: p, labelSmoothing: smoothing)
      for c in 0..<cols { delta[at + c] *= w[r] * scale }
    }
    return total
  case .denseBackward(
    _, let delta, let x, let w, let dW, let db, let dx, let inputs, let outputs, let activation,
    let p, let z):
    denseBackward(
      delta: delta, x: x, saved: z ?? x, w: w, dW: dW, db: db, dx: dx, rows: rows,
      inputs: inputs, outputs: outputs, activation, parameter: p)
  case .batchEnsemble(
    _, let x, let r, let u, let w, let p, let s, let b, let y, let z, let members, let inputs,
    let outputs, let activation, let parameter):
    batchEnsembleForward(
      x: x, r: r, u: u, w: w, p: p, s: s, b: b, y: y, z: z, rows: rows, members: members,
      inputs: inputs, outputs: outputs, activation, parameter: parameter)
  case .batchEnsembleBackward(
    _, let delta, let x, let r, let u, let w, let p, let s, let dr, let dW, let ds, let db,
    let dx, let members, let inputs, let outputs, let activation, let parameter, let z):
    batchEnsembleBackward(
      delta: delta, x: x, saved: z ?? x, r: r, u: u, w: w, p: p, s: s, dr: dr, dW: dW, ds: ds,
      db: db, dx: dx, rows: rows, members: members, inputs: inputs, outputs: outputs, activation,
      parameter: parameter)
  case .adaptedDense(
    _, let x, let r, let w, let b, let u, let runs, let y, let z, let members, let inputs,
    let outputs, let activation, let parameter):
    adaptedDenseForward(
      x: x, r: r, w: w, b: b, u: u, runs: runs, y: y, z: z, rows: rows, members: members,
      inputs: inputs, outputs: outputs, activation, parameter: parameter)
  case .adaptedDenseBackward(
    _, let delta, let x, let r, let wm, let w, let runs, let u, let dW, let db, let dr, let g,
    let dx, let members, let inputs, let outputs):
    adaptedDenseBackward(
      delta: delta, x: x, r: r, w: w, dW: dW, db: db, dr: dr, g: g, wm: wm, dx: dx, runs: runs,
      u: u, rows: rows, members: members, inputs: inputs, outputs: outputs)
  case .dropout(let layer, let x, let mask, let cols, let rate):
    dropoutForward(
      x, mask: mask, count: rows * cols, rate: rate, seed: seed, layer: layer, step: step,
      first: firstRow * cols)
  case .dropoutBackward(_, let delta, let x, let mask, let cols, let activation, let p, let z):
    dropoutBackward(
      delta: delta, x: x, preActivation: z, mask: mask, rows: rows, cols: cols, activation,
      parameter: p)
  case .update(
    let optimizer, let clipping, let p, let g, let n, let decay, let state, let average):
    if clipping.isActive { clipGradient(g, count: n, clipping) }
    // Models of 16,384 parameters or more update in slices of whole cache lines, one per
    // thread (each value's update is the same whichever thread makes it).
    let parts = n >= 1 << 14 ? WorkerPool.shared.count : 1
    return withUnsafeTemporaryAllocation(of: Bool.self, capacity: parts) { finite in
      WorkerPool.shared.run(parts) { part in
        let lo = n * part / parts / 16 * 16
        let hi = part == parts - 1 ? n : n * (part + 1) / parts / 16 * 16
        // This slice's share of each run of the decay factors.
        var start = 0
        for span in decay {
          let (from, to) = (max(start, lo), min(span.end, hi))
          start = span.end
          guard from < to else { continue }
          let rule = span.factor == 1 ? optimizer : optimizer.scalingWeightDecay(span.factor)
          rule.update(p, g, state: state, range: from..<to, learningRate: learningRate, step: step)
        }
        if let average {
          averageParameters(
            average.values + lo, p + lo, count: hi - lo, decay: average.decay, step: step)
        }
        finite[part] = allFinite(p + lo, count: hi - lo)
      }
      return finite.allSatisfy { $0 } ? 0 : 1
    }
  case .ensembleSpread(let x, let r, let y, let k, let cols):
    ensembleSpreadForward(x: x, r: r, y: y, rows: rows, cols: cols, members: k)
  case .ensembleSpreadBackward(let delta, let x, let r, let dr, let dx, let k, let cols):
    ensembleSpreadBackward(
      delta: delta, x: x, r: r, dr: dr, dx: dx, rows: rows, cols: cols, members: k)
  case .ensembleMean(let x, let y, let k, let cols):
    ensembleMean(x: x, y: y, rows: rows, cols: cols, members: k)
  case .members(let k, let inner):
    return execute(
      inner, rows: rows * k, step: step, firstRow: firstRow * k, learningRate: learningRate,
      seed: seed) / Double(k)
  case .eachMember(let k, let inner):
    // Each member's layer reads and writes its own rows and parameters: with enough work, the
    // members spread over the pool (their products then run on one thread each).
    let each = { (m: Int) in
      _ = execute(
        inner.member(m, rows: rows), rows: rows, step: step, firstRow: firstRow,
        learningRate: learningRate, seed: seed)
    }
    if k * rows * inner.memberWidths >= 1 << 15 {
      WorkerPool.shared.run(k, each)
    } else {
      for m in 0..<k { each(m) }
    }
  }
  return 0
}

/// A run of an update's parameter range, up to `end`, whose weight decay is the optimizer's
/// times `factor`.
public struct DecaySpan: Sendable, Equatable {
  public var end: Int
  public var factor: Float
  public init(end: Int, factor: Float) { (self.end, self.factor) = (end, factor) }
}

/// The exponential moving average of the parameters an update keeps: its parameter-shaped
/// buffer and decay d.
public struct ParameterAverage<Ref> {
  public var values: Ref
  public var decay: Float
  public init(values: Ref, decay: Float) { (self.values, self.decay) = (values, decay) }
}

extension ParameterAverage: Sendable where Ref: Sendable {}

/// PyTorch's AveragedModel with get_ema_multi_avg_fn(d), updated after every optimizer step:
/// the first step copies the parameters, every later one moves the average towards them,
/// a ← a + (1 − d)(p − a) (torch.lerp's form; from the far end when the weight passes ½).
@inline(__always)
func averageParameters(
  _ a: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, count: Int, decay: Float, step: Int
) {
  if step <= 1 {
    a.update(from: p, count: count)
    return
  }
  let w = 1 - decay
  if w < 0.5 {
    for i in 0..<count { a[i] = a[i] + w * (p[i] - a[i]) }
  } else {
    for i in 0..<count { a[i] = p[i] - (p[i] - a[i]) * (1 - w) }
  }
}

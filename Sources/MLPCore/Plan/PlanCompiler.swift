// Network → ExecutionPlan: takes the arena layout (every shape and offset, before any float
// exists), emits the op list and verifies each op's operand shapes as it is emitted. A failed
// `precondition` here means the checker missed something. A training plan needs the update rule;
// an inference plan has no gradients, optimizer state, target, loss or backward ops.

/// Compiles networks into execution plans.
public enum PlanCompiler {
  /// The training plan of a checked spec, at its batch size (or `batchSize`).
  public static func compile(_ spec: CheckedSpec, batchSize: Int? = nil) -> ExecutionPlan {
    let t = spec.training
    return compile(
      spec.network, batchSize: batchSize ?? spec.batchSize,
      training: (t.updateRule, t.clipping), classWeights: spec.data.classWeights,
      labelSmoothing: Float(t.labelSmoothing), averageDecay: t.ema.map(Float.init))
  }

  /// A forward-only plan of `network` for up to `batchSize` rows per pass; the output layer
  /// applies its own activation, so the output buffer holds x^N.
  public static func compileInference(_ network: Network, batchSize: Int) -> ExecutionPlan {
    compile(network, batchSize: batchSize, training: nil)
  }

  /// The arena layout of `network`: training with `optimizer`, or inference when nil.
  public static func layout(
    _ network: Network, batchSize: Int, optimizer: OptimizerKind?, sampleWeights: Bool = false
  ) -> ArenaLayout? {
    ArenaLayout(
      input: network.input, layers: network.layers.map { ($0.name, $0.units) },
      batchSize: batchSize, optimizerSlots: optimizer?.stateSlots, sampleWeights: sampleWeights,
      frontScale: network.frontScale,
      embeddings: network.embeddings.map { ($0.tensorName, $0.rows, $0.dim) },
      periodic: network.periodicTensors.map { ($0.name, $0.shape) },
      periodicWidth: network.periodicWidth, loadedColumns: network.loadedColumns,
      members: network.members, ensembleKind: network.ensembleKind)
  }

  static func compile(
    _ network: Network, batchSize batch: Int, training: (UpdateRule, GradientClipping)?,
    classWeights: [Float]? = nil, labelSmoothing: Float = 0, averageDecay: Float? = nil
  ) -> ExecutionPlan {
    precondition(batch >= 1)
    let weighted = training != nil && classWeights != nil
    let n = network.layers.count
    let dropped = training == nil ? [] : (1...n).filter { network.layers[$0 - 1].dropout > 0 }
    // Training keeps z^k where σ' is taken from z (gelu, silu); inference never needs it.
    let saving =
      training == nil ? [] : ArenaLayout.preActivationLayers(network.layers.map(\.activation))
    guard
      let layout = ArenaLayout(
        input: network.input, layers: network.layers.map { ($0.name, $0.units) },
        batchSize: batch, optimizerSlots: training?.0.kind.stateSlots, sampleWeights: weighted,
        dropoutLayers: Set(dropped), preActivationLayers: saving,
        averaged: training != nil && averageDecay != nil, frontScale: network.frontScale,
        embeddings: network.embeddings.map { ($0.tensorName, $0.rows, $0.dim) },
        periodic: network.periodicTensors.map { ($0.name, $0.shape) },
        periodicWidth: network.periodicWidth, loadedColumns: network.loadedColumns,
        members: network.members, ensembleKind: network.ensembleKind)
    else {
      preconditionFailure("arena size overflows; the checker's E008 should have refused it")
    }
    let id = { (role: BufferRole) in layout.first(role)?.id }
    let weights = (1...n).map { id(.weight(layer: $0))! }
    let biases = (1...n).map { id(.bias(layer: $0))! }
    let tables = network.embeddings.indices.map { id(.embedding(table: $0))! }
    // x^0, and what layer 1 reads: x^0 itself, or x^0 ⊙ s with a front scale; in an ensemble,
    // the members' copies of that, each × its adapter.
    let x0 = id(.embedded) ?? id(.input)!
    let scale = id(.frontScale)
    let adapter = id(.ensembleAdapter)
    let spreadFrom = id(.scaledInput) ?? x0
    let activations =
      [id(.memberInput) ?? spreadFrom] + (1...n).map { id(.activation(layer: $0))! }
    // z^k where the layout keeps it (index k; none for x^0).
    let preActivations = [nil] + (1...n).map { id(.preActivation(layer: $0)) }
    let periodic = network.periodicTensors.indices.map { id(.periodic(tensor: $0))! }
    let lastParameter = layout.buffers.last { $0.role.isParameter }!.role
    let parameters = layout.range(from: .weight(layer: 1), through: lastParameter)!
    let members = network.members
    // TabM-mini's layer 1 backward takes ∂L/∂r from per-member products itself.
    let adapted = network.learnsAdaptersInFirstLayer
    // ... and, when its inputs are wide enough, reads the rows that are runs of ones and zeros
    // as a few terms each (AdaptedDense.swift).
    let runs = id(.runTerms).map {
      RunScratch(
        terms: $0, transposed: id(.runTransposed)!, pieces: id(.runPieces)!,
        blocks: RunBlocks(inputs: network.input, featureStarts: network.featureStarts))
    }
    let ops = OpBuilder(buffers: layout.buffers, members: members)
    let embed =
      network.embedsInput ? [ops.embed(network, id(.input)!, x0, tables)] : []
    let periodicLookups = ops.periodicLookups(network, periodic)
    let embedPeriodic =
      network.periodic.isEmpty
      ? [] : [ops.periodic(network, id(.input)!, x0, id(.periodicFeatures)!, periodicLookups)]
    let scaling =
      (scale.map { [ops.frontScale(x0, $0, spreadFrom)] } ?? [])
      + (members > 1 && runs == nil ? [ops.spread(spreadFrom, adapter, activations[0])] : [])
    let averaging = id(.ensembleOutput).map { [ops.mean(activations[n], $0)] } ?? []
    let fused = training != nil && network.loss.fusesActivation
    let forward = (1...n).flatMap { k in
      let layer = network.layers[k - 1]
      // The fused losses apply the output activation themselves, from the logits.
      let activation = k == n && fused ? .identity : layer.activation
      let dense =
        k == 1 && runs != nil
        ? ops.adaptedDense(
          spreadFrom, adapter!, weights[0], biases[0], activations[0], runs!, activations[1],
          activation, layer.parameter, preActivations[1])
        : network.batchEnsembleLayers.contains(k)
          ? ops.batchEnsemble(
            k, activations[k - 1], id(.memberInputScale(layer: k)),
            id(.memberScaledInput(layer: k))!, weights[k - 1], id(.memberProduct(layer: k))!,
            id(.memberOutputScale(layer: k))!, biases[k - 1], activations[k], activation,
            layer.parameter, preActivations[k])
          : ops.dense(
            k, activations[k - 1], weights[k - 1], biases[k - 1], activations[k], activation,
            layer.parameter, preActivations[k])
      guard let mask = id(.dropoutMask(layer: k)) else { return [dense] }
      return [
        dense, ops.dropout(k, activations[k], mask, layer.dropout),
      ]
    }
    var plan = ExecutionPlan(
      network: network, batchSize: batch, buffers: layout.buffers,
      // The training plan averages the members after the loss (which applies a fused output
      // activation); the inference plan right after the output layer.
      forward: embed + embedPeriodic + scaling + forward + (training == nil ? averaging : []),
      parameters: parameters, arenaCount: layout.count, input: id(.input)!,
      output: id(.ensembleOutput) ?? activations[n], weights: weights, biases: biases,
      embeddings: tables, periodic: periodic, frontScale: scale, adapter: adapter,
      memberScales: layout.buffers.filter {
        switch $0.role {
        case .memberInputScale, .memberOutputScale: true
        default: false
        }
      }.map(\.id))
    guard let (optimizer, clipping) = training else { return plan }
    let deltas = (1...n).map { id(.delta(layer: $0))! }
    // With embeddings, layer 1 also passes ∂L/∂x^0 down, which the tables' scatter-add reads;
    // with a front scale, layer 1 passes ∂L/∂(x^0 ⊙ s) to the scale's backward, which passes
    // ∂L/∂x^0 on when there are tables.
    // In an ensemble, layer 1 passes ∂L/∂(member input) to the adapters' backward, which passes
    // the sum over members on.
    let inputDelta = id(.delta(layer: 0))
    let belowSpread = id(.scaledInputDelta) ?? inputDelta
    // Independent members with nothing below x^0 to learn pass nothing down.
    let firstDelta =
      network.hasAdapters || belowSpread != nil ? id(.memberInputDelta) ?? belowSpread : nil
    let output = network.layers[n - 1]
    plan.target = id(.target)
    if weighted {
      plan.sampleWeights = id(.sampleWeight)
      plan.classWeights = classWeights
    }
    // An ensemble's loss reads every member's copy of the targets and weights.
    let memberTarget = id(.memberTarget)
    let memberWeights = id(.memberSampleWeight)
    plan.beforeLoss =
      (memberTarget.map { [ops.spread(plan.target!, nil, $0)] } ?? [])
      + (memberWeights.map { [ops.spread(plan.sampleWeights!, nil, $0)] } ?? [])
    plan.afterLoss = averaging
    plan.loss = ops.loss(
      network.loss, activations[n], memberTarget ?? plan.target!, deltas[n - 1],
      output.activation, output.parameter, memberWeights ?? plan.sampleWeights,
      preActivations[n], labelSmoothing)
    plan.backward = (1...n).reversed().flatMap { k in
      let below = k > 1 ? network.layers[k - 2] : nil
      // Below a dropout layer, σ' is applied by its dropoutBackward (after the mask).
      let belowMask = k > 1 ? id(.dropoutMask(layer: k - 1)) : nil
      let (act, p, z) = (
        belowMask == nil ? below?.activation ?? .identity : .identity,
        belowMask == nil ? below?.parameter ?? 0 : 0,
        belowMask == nil ? preActivations[k - 1] : nil
      )
      let backward =
        k == 1 && adapted
        ? ops.adaptedDenseBackward(
          deltas[0], spreadFrom, adapter!, id(.memberWeight), weights[0], runs,
          runs == nil ? nil : activations[0],
          id(.weightGradient(layer: 1))!, id(.biasGradient(layer: 1))!,
          id(.ensembleAdapterGradient)!, id(.memberWeightProduct)!, belowSpread)
        : network.batchEnsembleLayers.contains(k)
          ? ops.batchEnsembleBackward(
            k, deltas[k - 1], activations[k - 1], id(.memberInputScale(layer: k)),
            id(.memberScaledInput(layer: k))!, weights[k - 1], id(.memberProduct(layer: k))!,
            id(.memberOutputScale(layer: k))!, id(.memberInputScaleGradient(layer: k)),
            id(.weightGradient(layer: k))!, id(.memberOutputScaleGradient(layer: k))!,
            id(.biasGradient(layer: k))!, k > 1 ? deltas[k - 2] : firstDelta, act, p, z)
          : ops.denseBackward(
            k, deltas[k - 1], activations[k - 1], weights[k - 1], id(.weightGradient(layer: k))!,
            id(.biasGradient(layer: k))!, k > 1 ? deltas[k - 2] : firstDelta, act, p, z)
      guard let belowMask, let below else { return [backward] }
      return [
        backward,
        ops.rows(
          Op.dropoutBackward(
            layer: k - 1, delta: deltas[k - 2], output: activations[k - 1], mask: belowMask,
            columns: below.units, activation: below.activation, parameter: below.parameter,
            preActivation: preActivations[k - 1])),
      ]
    }
    if members > 1, !adapted, let firstDelta {
      plan.backward.append(
        ops.spreadBackward(
          firstDelta, spreadFrom, adapter, id(.ensembleAdapterGradient), belowSpread))
    }
    if let scale, let belowSpread {
      plan.backward.append(
        ops.frontScaleBackward(belowSpread, x0, scale, id(.frontScaleGradient)!, inputDelta))
    }
    if let inputDelta, !tables.isEmpty {
      let gradients = network.embeddings.indices.map { id(.embeddingGradient(table: $0))! }
      plan.backward.append(
        ops.embedBackward(network, inputDelta, id(.input)!, gradients))
    }
    if let inputDelta, !periodic.isEmpty {
      let gradients = ops.periodicLookups(
        network, network.periodicTensors.indices.map { id(.periodicGradient(tensor: $0))! })
      plan.backward.append(
        ops.periodicBackward(
          network, inputDelta, id(.input)!, x0, id(.periodicFeatures)!,
          id(.periodicFeaturesDelta)!, periodicLookups, gradients))
    }
    plan.gradients = layout.range(
      from: .weightGradient(layer: 1), through: layout.buffers.last { $0.role.isGradient }!.role)
    precondition(plan.gradients?.count == parameters.count)
    plan.optimizerState = layout.buffers.filter {
      if case .optimizerState = $0.role { true } else { false }
    }.map { ArenaRange(offset: $0.offset, count: $0.count) }
    let average = layout.first(.parameterAverage)
    if average != nil {
      plan.average = layout.range(from: .parameterAverage, through: .parameterAverage)
      precondition(plan.average?.count == parameters.count, "the average mirrors the parameters")
      plan.optimizerState.append(plan.average!)
    }
    // One op over the flat ranges: parameters, gradients and each state slot start at their
    // first buffer and run contiguously (the layout puts them so).
    let firstGradient = id(.weightGradient(layer: 1))!
    precondition(layout.buffers[firstGradient.index].offset == plan.gradients!.offset)
    // Weight decay shrinks weights, biases, tables and the periodic embeddings' linear layers,
    // not the multiplicative scales, as recipes leave normalisation gains undecayed. An ensemble
    // minimises the mean of its members' regularised losses, so a coupled (L2) decay of a
    // member's own tensors is λ/k, as their loss gradient is 1/k of their own.
    // Each parameter tensor's decay factor, in layout order, merged into runs. The multiplicative
    // scales (front scale, adapters, a BatchEnsemble layer's r and s, the periodic embeddings'
    // frequencies, which TabM's reference code leaves undecayed too) get 0. Under a coupled
    // (L2) decay, a member's own tensor (a weight with a member axis, a bias with one) gets 1/k.
    let frequencies = Set(
      zip(network.periodicTensors, periodic).compactMap { t, id in
        if case .frequencies = t.kind { id } else { nil }
      })
    let coupled = members > 1 && !optimizer.decouplesWeightDecay
    let factor = { (b: Buffer) -> Float in
      switch b.role {
      case .frontScale, .ensembleAdapter, .memberInputScale, .memberOutputScale: return 0
      case .periodic: return frequencies.contains(b.id) ? 0 : 1
      case .weight where b.shape.count == 3, .bias where b.shape.count == 2:
        return coupled ? 1 / Float(members) : 1
      default: return 1
      }
    }
    let tensors = layout.buffers.filter(\.role.isParameter)
    var decay: [DecaySpan] = []
    for (i, b) in tensors.enumerated() {
      let end =
        i + 1 < tensors.count ? tensors[i + 1].offset - parameters.offset : parameters.count
      if decay.last?.factor == factor(b) {
        decay[decay.count - 1].end = end
      } else {
        decay.append(DecaySpan(end: end, factor: factor(b)))
      }
    }
    plan.update = .update(
      optimizer, clipping: clipping, parameters: weights[0], gradients: firstGradient,
      count: parameters.count, decay: decay,
      state: StateSlots(
        layout.buffers.filter {
          if case .optimizerState = $0.role { true } else { false }
        }.map(\.id)),
      average: average.map { ParameterAverage(values: $0.id, decay: averageDecay!) })
    return plan
  }
}

/// Emits ops, verifying operand shapes.
private struct OpBuilder {
  let buffers: [Buffer]
  /// The ensemble's k (1: none): ops over batch buffers from layer 1 on run over k·B rows.
  let members: Int

  /// `op` over every member's rows in an ensemble, else `op`.
  func rows(_ op: Op) -> Op { members > 1 ? .members(members, op) : op }

  func shape(_ id: BufferID) -> [Int] { buffers[id.index].shape }

  /// The lookups of `network`'s embeddings into `tables` (or their gradients).
  func lookups(_ network: Network, _ tables: [BufferID]) -> [EmbeddingLookup<BufferID>] {
    zip(network.embeddings, tables).map { e, t in
      precondition(shape(t) == [e.rows, e.dim], "embedding '\(e.name)': table shape")
      precondition(
        e.column < network.loadedColumns && e.offset + e.dim <= network.input,
        "embedding '\(e.name)': columns")
      return EmbeddingLookup(column: e.column, table: t, rows: e.rows, dim: e.dim, offset: e.offset)
    }
  }

  func embed(_ network: Network, _ x: BufferID, _ y: BufferID, _ tables: [BufferID]) -> Op {
    let (batch, inputs, outputs) = (shape(x)[0], shape(x)[1], shape(y)[1])
    precondition(
      inputs == network.loadedColumns && shape(y) == [batch, network.input], "embed: shapes")
    let runs = network.plainRuns
    precondition(
      runs.reduce(0) { $0 + $1.count } + network.embeddings.reduce(0) { $0 + $1.dim }
        + network.periodic.reduce(0) { $0 + $1.dim } == outputs,
      "embed: every column of x^0 filled once")
    return .embed(
      input: x, output: y, inputs: inputs, outputs: outputs, runs: runs,
      lookups: lookups(network, tables))
  }

  func embedBackward(_ network: Network, _ delta: BufferID, _ x: BufferID, _ grads: [BufferID])
    -> Op
  {
    precondition(shape(delta) == [shape(x)[0], network.input], "embed backward: shapes")
    return .embedBackward(
      delta: delta, input: x, inputs: shape(x)[1], outputs: network.input,
      lookups: lookups(network, grads))
  }

  /// The periodic lookups of `network` over `tensors` (its periodic tensors or their gradients,
  /// in `periodicTensors` order).
  func periodicLookups(_ network: Network, _ tensors: [BufferID]) -> [PeriodicLookup<BufferID>] {
    let named = Dictionary(
      uniqueKeysWithValues: zip(network.periodicTensors.map(\.name), tensors))
    var at = 0
    return network.periodic.map { p in
      let (f, w, b) = (named[p.frequenciesName]!, named[p.weightName]!, named[p.biasName]!)
      precondition(
        shape(f) == [p.frequencies] && shape(w) == [p.dim, 2 * p.frequencies]
          && shape(b) == [p.dim], "periodic '\(p.name)': tensor shapes")
      precondition(
        p.column < network.loadedColumns && p.offset + p.dim <= network.input,
        "periodic '\(p.name)': columns")
      defer { at += 2 * p.frequencies }
      return PeriodicLookup(
        column: p.column, frequencies: f, weight: w, bias: b, count: p.frequencies, dim: p.dim,
        at: at, offset: p.offset)
    }
  }

  func periodic(
    _ network: Network, _ x: BufferID, _ y: BufferID, _ v: BufferID,
    _ lookups: [PeriodicLookup<BufferID>]
  ) -> Op {
    let batch = shape(x)[0]
    precondition(
      shape(x) == [batch, network.loadedColumns] && shape(y) == [batch, network.input]
        && shape(v) == [batch, network.periodicWidth], "periodic: shapes")
    return .periodic(
      input: x, output: y, features: v, inputs: shape(x)[1], outputs: network.input,
      width: network.periodicWidth, lookups: lookups)
  }

  func periodicBackward(
    _ network: Network, _ delta: BufferID, _ x: BufferID, _ y: BufferID, _ v: BufferID,
    _ dv: BufferID, _ lookups: [PeriodicLookup<BufferID>], _ gradients: [PeriodicLookup<BufferID>]
  ) -> Op {
    precondition(shape(delta) == shape(y) && shape(dv) == shape(v), "periodic backward: shapes")
    return .periodicBackward(
      delta: delta, input: x, output: y, features: v, featuresDelta: dv, inputs: shape(x)[1],
      outputs: network.input, width: network.periodicWidth, lookups: lookups,
      gradients: gradients)
  }

  func batchEnsemble(
    _ k: Int, _ x: BufferID, _ r: BufferID?, _ u: BufferID, _ w: BufferID, _ p: BufferID,
    _ s: BufferID, _ b: BufferID, _ y: BufferID, _ act: Activation, _ a: Float, _ z: BufferID?
  ) -> Op {
    let (rows, inputs) = (shape(x)[0], shape(x)[1])
    let outputs = shape(w)[0]
    precondition(
      shape(w) == [outputs, inputs] && shape(b) == [members, outputs]
        && shape(s) == [members, outputs] && shape(u) == [rows, inputs]
        && shape(p) == [rows, outputs] && shape(y) == [rows, outputs]
        && rows % members == 0, "batch ensemble \(k): shapes")
    if let r { precondition(shape(r) == [members, inputs], "batch ensemble \(k): r") }
    if let z { precondition(shape(z) == shape(y), "batch ensemble \(k): z") }
    return .batchEnsemble(
      layer: k, input: x, inputScale: r, scaled: u, weight: w, product: p, outputScale: s,
      bias: b, output: y, preActivation: z, members: members, inputs: inputs, outputs: outputs,
      activation: act, parameter: a)
  }

  func batchEnsembleBackward(
    _ k: Int, _ delta: BufferID, _ x: BufferID, _ r: BufferID?, _ u: BufferID, _ w: BufferID,
    _ p: BufferID, _ s: BufferID, _ dr: BufferID?, _ dw: BufferID, _ ds: BufferID,
    _ db: BufferID, _ dx: BufferID?, _ act: Activation, _ a: Float, _ z: BufferID?
  ) -> Op {
    let inputs = shape(x)[1]
    let outputs = shape(w)[0]
    precondition(
      shape(delta) == shape(p) && shape(dw) == shape(w) && shape(ds) == shape(s)
        && shape(db) == [members, outputs] && (r == nil) == (dr == nil),
      "batch ensemble backward \(k): shapes")
    if let r, let dr { precondition(shape(dr) == shape(r), "batch ensemble backward \(k): dr") }
    if let dx {
      precondition(shape(dx) == shape(x), "batch ensemble backward \(k): input delta")
      precondition(z != nil || !act.savesInput, "batch ensemble backward \(k): σ' needs z")
    }
    return .batchEnsembleBackward(
      layer: k, delta: delta, input: x, inputScale: r, scaled: u, weight: w, product: p,
      outputScale: s, inputScaleGradient: dr, weightGradient: dw, outputScaleGradient: ds,
      biasGradient: db, inputDelta: dx, members: members, inputs: inputs, outputs: outputs,
      inputActivation: act, inputParameter: a, inputPreActivation: z)
  }

  /// The member axis of a weight: [k] for an ensemble's output layer, else [].
  func heads(_ w: BufferID) -> [Int] { shape(w).count == 3 ? [shape(w)[0]] : [] }

  /// A layer over every member's rows, or an ensemble's output layer once per member.
  func layer(_ op: Op, _ w: BufferID) -> Op {
    heads(w).isEmpty ? rows(op) : .eachMember(members, op)
  }

  func dense(
    _ k: Int, _ x: BufferID, _ w: BufferID, _ b: BufferID, _ y: BufferID, _ act: Activation,
    _ p: Float, _ z: BufferID?
  ) -> Op {
    let (batch, inputs) = (shape(x)[0], shape(x)[1])
    let heads = heads(w)
    let outputs = shape(w)[heads.count]
    precondition(heads.isEmpty || heads == [members], "dense \(k): members")
    precondition(
      shape(w) == heads + [outputs, inputs] && shape(b) == heads + [outputs]
        && shape(y) == [batch, outputs], "dense \(k): shapes")
    if let z { precondition(shape(z) == shape(y), "dense \(k): z") }
    return layer(
      .dense(
        layer: k, input: x, weight: w, bias: b, output: y, inputs: inputs, outputs: outputs,
        activation: act, parameter: p, preActivation: z), w)
  }

  func adaptedDense(
    _ x: BufferID, _ r: BufferID, _ w: BufferID, _ b: BufferID, _ u: BufferID,
    _ runs: RunScratch<BufferID>, _ y: BufferID, _ act: Activation, _ a: Float, _ z: BufferID?
  ) -> Op {
    let (batch, inputs) = (shape(x)[0], shape(x)[1])
    let outputs = shape(w)[0]
    precondition(
      shape(w) == [outputs, inputs] && shape(b) == [outputs] && shape(r) == [members, inputs]
        && shape(u) == [members * batch, inputs] && shape(y) == [members * batch, outputs]
        && shape(runs.terms) == [batch, inputs] && shape(runs.transposed) == [inputs, outputs]
        && shape(runs.pieces) == [runPiecesRows(batch), inputs],
      "adapted dense 1: shapes")
    if let z { precondition(shape(z) == shape(y), "adapted dense 1: z") }
    return .adaptedDense(
      layer: 1, input: x, adapter: r, weight: w, bias: b, copies: u, runs: runs, output: y,
      preActivation: z, members: members, inputs: inputs, outputs: outputs, activation: act,
      parameter: a)
  }

  func adaptedDenseBackward(
    _ delta: BufferID, _ x: BufferID, _ r: BufferID, _ wm: BufferID?, _ w: BufferID,
    _ runs: RunScratch<BufferID>?, _ u: BufferID?,
    _ dw: BufferID, _ db: BufferID, _ dr: BufferID, _ g: BufferID, _ dx: BufferID?
  ) -> Op {
    let (batch, inputs) = (shape(x)[0], shape(x)[1])
    let outputs = shape(w)[0]
    precondition(
      shape(delta) == [members * batch, outputs] && shape(dw) == shape(w)
        && shape(db) == [outputs] && shape(r) == [members, inputs] && shape(dr) == shape(r)
        && shape(g) == [members, outputs, inputs] && (wm == nil) == (dx == nil),
      "adapted dense backward 1: shapes")
    if let dx, let wm {
      precondition(
        shape(dx) == shape(x) && shape(wm) == shape(g), "adapted dense backward 1: input delta")
    }
    return .adaptedDenseBackward(
      layer: 1, delta: delta, input: x, adapter: r, memberWeights: wm, weight: w, runs: runs,
      copies: u, weightGradient: dw, biasGradient: db, adapterGradient: dr, memberGradients: g,
      inputDelta: dx, members: members, inputs: inputs, outputs: outputs)
  }

  func spread(_ x: BufferID, _ r: BufferID?, _ y: BufferID) -> Op {
    let columns = shape(x).count == 2 ? shape(x)[1] : 1
    precondition(
      shape(y)[0] == members * shape(x)[0]
        && Array(shape(y).dropFirst()) == Array(shape(x).dropFirst()),
      "ensemble spread: shapes \(shape(x)) \(shape(y))")
    if let r { precondition(shape(r) == [members, columns], "ensemble spread: adapter") }
    return .ensembleSpread(input: x, adapter: r, output: y, members: members, columns: columns)
  }

  func spreadBackward(
    _ delta: BufferID, _ x: BufferID, _ r: BufferID?, _ dr: BufferID?, _ dx: BufferID?
  ) -> Op {
    let columns = shape(x)[1]
    precondition(
      shape(delta) == [members * shape(x)[0], columns] && (r == nil) == (dr == nil),
      "ensemble spread backward: shapes")
    if let r, let dr {
      precondition(
        shape(r) == [members, columns] && shape(dr) == shape(r), "ensemble spread backward: r")
    }
    if let dx { precondition(shape(dx) == shape(x), "ensemble spread backward: input delta") }
    return .ensembleSpreadBackward(
      delta: delta, input: x, adapter: r, adapterGradient: dr, inputDelta: dx, members: members,
      columns: columns)
  }

  func mean(_ x: BufferID, _ y: BufferID) -> Op {
    precondition(
      shape(x) == [members * shape(y)[0], shape(y)[1]], "ensemble mean: shapes")
    return .ensembleMean(input: x, output: y, members: members, columns: shape(y)[1])
  }

  func frontScale(_ x: BufferID, _ s: BufferID, _ y: BufferID) -> Op {
    let columns = shape(s)[0]
    precondition(
      shape(x) == shape(y) && shape(x)[1] == columns, "front scale: shapes \(shape(x)) \(shape(s))")
    return .frontScale(input: x, scale: s, output: y, columns: columns)
  }

  func frontScaleBackward(
    _ delta: BufferID, _ x: BufferID, _ s: BufferID, _ ds: BufferID, _ dx: BufferID?
  ) -> Op {
    precondition(
      shape(delta) == shape(x) && shape(ds) == shape(s) && shape(x)[1] == shape(s)[0],
      "front scale backward: shapes")
    if let dx { precondition(shape(dx) == shape(x), "front scale backward: input delta") }
    return .frontScaleBackward(
      delta: delta, input: x, scale: s, scaleGradient: ds, inputDelta: dx, columns: shape(s)[0])
  }

  func dropout(_ k: Int, _ x: BufferID, _ mask: BufferID, _ rate: Float) -> Op {
    precondition(shape(x) == shape(mask), "dropout \(k): shapes")
    return rows(.dropout(layer: k, output: x, mask: mask, columns: shape(x)[1], rate: rate))
  }

  func loss(
    _ kind: LossKind, _ x: BufferID, _ y: BufferID, _ delta: BufferID, _ act: Activation,
    _ p: Float, _ weights: BufferID?, _ z: BufferID?, _ smoothing: Float
  ) -> Op {
    precondition(
      shape(x) == shape(y) && shape(x) == shape(delta), "loss: shapes \(shape(x)) \(shape(y))")
    if let weights { precondition(shape(weights) == [shape(x)[0]], "loss: weights") }
    if let z { precondition(shape(z) == shape(x) && !kind.fusesActivation, "loss: z") }
    precondition(z != nil || !act.savesInput || kind.fusesActivation, "loss: σ' needs z")
    precondition(
      smoothing >= 0 && smoothing <= 1 && (smoothing == 0 || kind != .mse), "loss: label smoothing")
    return rows(
      .loss(
        kind, output: x, target: y, delta: delta, columns: shape(x)[1], activation: act,
        parameter: p, weights: weights, preActivation: z, labelSmoothing: smoothing))
  }

  func denseBackward(
    _ k: Int, _ delta: BufferID, _ x: BufferID, _ w: BufferID, _ dw: BufferID, _ db: BufferID,
    _ inputDelta: BufferID?, _ act: Activation, _ p: Float, _ z: BufferID?
  ) -> Op {
    let (batch, inputs) = (shape(x)[0], shape(x)[1])
    let heads = heads(w)
    let outputs = shape(w)[heads.count]
    precondition(
      shape(delta) == [batch, outputs] && shape(dw) == shape(w) && shape(db) == heads + [outputs],
      "backward \(k): shapes")
    if let inputDelta {
      precondition(shape(inputDelta) == [batch, inputs], "backward \(k): input delta")
      precondition(z != nil || !act.savesInput, "backward \(k): σ' needs z")
    }
    if let z { precondition(shape(z) == shape(x), "backward \(k): z") }
    return layer(
      .denseBackward(
        layer: k, delta: delta, input: x, weight: w, weightGradient: dw, biasGradient: db,
        inputDelta: inputDelta, inputs: inputs, outputs: outputs, inputActivation: act,
        inputParameter: p, inputPreActivation: z), w)
  }
}

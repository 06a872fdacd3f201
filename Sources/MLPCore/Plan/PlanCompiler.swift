// CheckedSpec → ExecutionPlan: computes every shape and arena offset before any float exists,
// emits the op list and verifies each op's operand shapes as it is emitted. A failed
// `precondition` here means the checker missed something.

/// Compiles checked specs into execution plans.
public enum PlanCompiler {
  /// Floats per alignment unit (64 bytes).
  static let alignment = 16

  /// Compiles `spec` for its configured batch size (or `batchSize`, if given).
  public static func compile(_ spec: CheckedSpec, batchSize: Int? = nil) -> ExecutionPlan {
    var layout = Layout()
    let widths = spec.widths
    let n = spec.layers.count
    let batch = batchSize ?? spec.training.batchSize
    precondition(batch >= 1)
    // Parameters, then gradients and optimizer state with the same internal layout.
    let parameterStart = layout.cursor
    var weights: [BufferID] = []
    var biases: [BufferID] = []
    for k in 1...n {
      let name = spec.layers[k - 1].name
      weights.append(layout.add("\(name).weight", .weight(layer: k), [widths[k], widths[k - 1]]))
      biases.append(layout.add("\(name).bias", .bias(layer: k), [widths[k]]))
    }
    let parameters = ArenaRange(offset: parameterStart, count: layout.cursor - parameterStart)
    var weightGradients: [BufferID] = []
    var biasGradients: [BufferID] = []
    for k in 1...n {
      let name = spec.layers[k - 1].name
      weightGradients.append(
        layout.add("\(name).weight.grad", .weightGradient(layer: k), [widths[k], widths[k - 1]]))
      biasGradients.append(layout.add("\(name).bias.grad", .biasGradient(layer: k), [widths[k]]))
    }
    let gradients = ArenaRange(offset: parameterStart + parameters.count, count: parameters.count)
    precondition(layout.cursor == gradients.offset + gradients.count)
    let slots = [.sgd: 0, .momentum: 1, .adam: 2][spec.training.optimizer]!
    var state: [ArenaRange] = []
    for slot in 0..<slots {
      let id = layout.add("optimizer.state\(slot)", .optimizerState(slot: slot), [parameters.count])
      state.append(ArenaRange(offset: layout.buffers[id.index].offset, count: parameters.count))
    }
    let input = layout.add("input", .input, [batch, widths[0]])
    let target = layout.add("target", .target, [batch, spec.data.train.outputs])
    var activations = [input]
    var deltas: [BufferID] = []
    for k in 1...n {
      activations.append(
        layout.add("\(spec.layers[k - 1].name).x", .activation(layer: k), [batch, widths[k]]))
      deltas.append(
        layout.add("\(spec.layers[k - 1].name).delta", .delta(layer: k), [batch, widths[k]]))
    }
    let ops = OpBuilder(buffers: layout.buffers)
    let forward = (1...n).map { k in
      let layer = spec.layers[k - 1]
      // The fused losses apply the output activation themselves, from the logits.
      let activation = k == n && lossFusesActivation(spec.loss) ? .identity : layer.activation
      return ops.dense(
        k, activations[k - 1], weights[k - 1], biases[k - 1], activations[k], activation,
        layer.negativeSlope)
    }
    let output = spec.layers[n - 1]
    let loss = ops.loss(
      spec.loss, activations[n], target, deltas[n - 1], output.activation, output.negativeSlope)
    let backward = (1...n).reversed().map { k in
      let below = k > 1 ? spec.layers[k - 2] : nil
      return ops.denseBackward(
        k, deltas[k - 1], activations[k - 1], weights[k - 1], weightGradients[k - 1],
        biasGradients[k - 1],
        k > 1 ? deltas[k - 2] : nil, below?.activation ?? .identity, below?.negativeSlope ?? 0)
    }
    return ExecutionPlan(
      spec: spec, batchSize: batch, buffers: layout.buffers, forward: forward, loss: loss,
      backward: backward, update: .update(spec.training.optimizer), parameters: parameters,
      gradients: gradients, optimizerState: state, arenaCount: layout.cursor, input: input,
      target: target, output: activations[n], weights: weights, biases: biases)
  }
}

/// Assigns aligned arena offsets to buffers in order.
private struct Layout {
  var buffers: [Buffer] = []
  var cursor = 0

  mutating func add(_ name: String, _ role: BufferRole, _ shape: [Int]) -> BufferID {
    let id = BufferID(index: buffers.count)
    let buffer = Buffer(id: id, name: name, role: role, shape: shape, offset: cursor)
    buffers.append(buffer)
    let aligned =
      (buffer.count + PlanCompiler.alignment - 1) / PlanCompiler.alignment * PlanCompiler.alignment
    cursor += aligned
    return id
  }
}

/// Emits ops, verifying operand shapes.
private struct OpBuilder {
  let buffers: [Buffer]

  func shape(_ id: BufferID) -> [Int] { buffers[id.index].shape }

  func dense(
    _ k: Int, _ x: BufferID, _ w: BufferID, _ b: BufferID, _ y: BufferID, _ act: Activation,
    _ slope: Float
  ) -> Op {
    let (batch, inputs) = (shape(x)[0], shape(x)[1])
    let outputs = shape(w)[0]
    precondition(
      shape(w) == [outputs, inputs] && shape(b) == [outputs] && shape(y) == [batch, outputs],
      "dense \(k): shapes")
    return .dense(layer: k, input: x, weight: w, bias: b, output: y, activation: act, slope: slope)
  }

  func loss(
    _ kind: LossKind, _ x: BufferID, _ y: BufferID, _ delta: BufferID, _ act: Activation,
    _ slope: Float
  ) -> Op {
    precondition(
      shape(x) == shape(y) && shape(x) == shape(delta), "loss: shapes \(shape(x)) \(shape(y))")
    return .loss(kind, output: x, target: y, delta: delta, activation: act, slope: slope)
  }

  func denseBackward(
    _ k: Int, _ delta: BufferID, _ x: BufferID, _ w: BufferID, _ dw: BufferID, _ db: BufferID,
    _ inputDelta: BufferID?, _ act: Activation, _ slope: Float
  ) -> Op {
    let (batch, inputs) = (shape(x)[0], shape(x)[1])
    let outputs = shape(w)[0]
    precondition(
      shape(delta) == [batch, outputs] && shape(dw) == shape(w) && shape(db) == [outputs],
      "backward \(k): shapes")
    if let inputDelta {
      precondition(shape(inputDelta) == [batch, inputs], "backward \(k): input delta")
    }
    return .denseBackward(
      layer: k, delta: delta, input: x, weight: w, weightGradient: dw, biasGradient: db,
      inputDelta: inputDelta, inputActivation: act, inputSlope: slope)
  }
}

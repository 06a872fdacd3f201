// Rules about the network's shape: sizes n^k, activations per layer, loss × activation × task,
// and whether parameters, gradients, optimizer state and activations fit in memory.

import Foundation

/// Sizes above this are refused outright (a layer of 16 M units is a typo, not a model).
let maximumWidth = 1 << 24

extension CheckContext {
  /// Checks `input` and every layer; nil when any layer is unusable.
  mutating func checkLayers() -> [CheckedLayer]? {
    if let input = spec.input { checkSize(input, "input") }
    guard let layers = spec.layers else { return nil }
    var checked: [CheckedLayer] = []
    var seenNames: [String: SourceLocation] = [:]
    for (index, layer) in layers.enumerated() {
      let isOutput = index == layers.count - 1
      let name = layer.name?.value ?? "layer\(index + 1)"
      if let given = layer.name {
        if let first = seenNames[given.value] {
          report(
            .error(
              .conflict, "layer name '\(given.value)' is used twice", at: given.location,
              notes: [DiagnosticNote("first used here", at: first)]))
        }
        seenNames[given.value] = given.location
      }
      let activation = layer.activation?.value ?? .identity
      if activation == .softmax, !isOutput, let at = layer.activation?.location {
        report(
          .error(
            .softmaxHidden,
            "softmax on hidden layer '\(name)'; softmax is for the output layer only",
            at: at, help: "use relu, tanh or another element-wise activation here"))
      }
      if let slope = layer.leakySlope {
        if activation != .leakyRelu {
          report(
            .warning(
              .ignoredSetting, "'negative_slope' has no effect on a '\(activation.rawValue)' layer",
              at: slope.location))
        } else if !slope.value.isFinite {
          report(
            .error(.hyperparameter, "'negative_slope' must be a finite number", at: slope.location))
        }
      }
      guard let units = layer.units, checkSize(units, "layers[\(index)].units") else { continue }
      var initializer = layer.initializer?.value ?? .auto
      if initializer == .auto {
        initializer = [.relu, .leakyRelu].contains(activation) ? .he : .glorot
      }
      checked.append(
        CheckedLayer(
          name: name, units: units.value, activation: activation,
          negativeSlope: Float(layer.leakySlope?.value ?? 0.01), initializer: initializer))
    }
    return checked.count == layers.count ? checked : nil
  }

  @discardableResult
  mutating func checkSize(_ size: Located<Int>, _ path: String) -> Bool {
    if size.value < 1 {
      report(
        .error(.badSize, "'\(path)' must be at least 1, found \(size.value)", at: size.location))
      return false
    }
    if size.value > maximumWidth {
      report(
        .error(
          .badSize, "'\(path)' is \(size.value), more than the limit of \(maximumWidth)",
          at: size.location))
      return false
    }
    return true
  }

  /// The loss, defaulted by task, checked against the task and the output activation.
  mutating func checkLoss(layers: [CheckedLayer]?) -> LossKind? {
    guard let task = spec.task?.value else { return nil }
    let loss = spec.loss?.value ?? (task == .classification ? .crossEntropy : .mse)
    let at = spec.loss?.location ?? rootLocation
    guard let output = layers?.last, let outputSpec = spec.layers?.last else { return loss }
    let activationAt = outputSpec.activation?.location ?? outputSpec.location
    let outputNote = DiagnosticNote(
      "output layer '\(output.name)' has activation '\(output.activation.rawValue)'",
      at: activationAt)
    switch (loss, task) {
    case (.crossEntropy, .regression), (.binaryCrossEntropy, .regression):
      report(
        .error(
          .lossMismatch, "'\(loss.rawValue)' is a classification loss but the task is regression",
          at: at, help: "use 'loss: mse' for regression"))
    case (.crossEntropy, .classification) where output.activation != .softmax:
      report(
        .error(
          .lossMismatch, "'cross_entropy' needs a softmax output layer", at: at,
          notes: [outputNote], help: "set 'activation: softmax' on the output layer"))
    case (.binaryCrossEntropy, .classification)
    where output.activation != .sigmoid || output.units != 1:
      report(
        .error(
          .binaryCrossEntropyShape,
          "'binary_cross_entropy' needs one sigmoid output unit, found \(output.units) '\(output.activation.rawValue)' units",
          at: at, notes: [outputNote],
          help:
            "use '{units: 1, activation: sigmoid}' as the output layer, or softmax with cross_entropy"
        ))
    case (.mse, _) where output.activation == .softmax:
      if task == .regression {
        report(
          .error(
            .lossMismatch, "softmax output on a regression task", at: activationAt,
            help: "use 'activation: identity' on the output layer"))
      } else {
        report(
          .warning(
            .mseOnSoftmax, "'mse' on softmax outputs trains slowly", at: at, notes: [outputNote],
            help: "use 'loss: cross_entropy'"))
      }
    default: break
    }
    return loss
  }

  /// Refuses networks whose parameters, gradients, optimizer state and batch activations would
  /// not fit in physical memory, naming the bytes needed.
  mutating func checkMemory(layers: [CheckedLayer], batchSize: Int) {
    guard let input = spec.input?.value, input >= 1 else { return }
    let widths = [input] + layers.map(\.units)
    var parameters = 0.0
    var activations = 0.0
    for k in 1..<widths.count {
      parameters += Double(widths[k - 1] + 1) * Double(widths[k])
      activations += 3 * Double(widths[k])
    }
    activations = (activations + Double(input)) * Double(max(batchSize, 1))
    let stateCopies = spec.training.optimizer?.value == .adam ? 4.0 : 3.0
    let bytes = 4 * (stateCopies * parameters + activations)
    let available = Double(ProcessInfo.processInfo.physicalMemory)
    guard bytes > available else { return }
    report(
      .error(
        .tooLarge,
        "network needs \(formatBytes(bytes)) for \(formatCount(parameters)) parameters, their gradients, optimizer state and activations, but this machine has \(formatBytes(available))",
        at: spec.layersLocation ?? rootLocation,
        help: "use fewer or narrower layers, or a smaller batch"))
  }
}

/// 1536 → "1.5 KiB".
func formatBytes(_ bytes: Double) -> String {
  let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
  var value = bytes
  var unit = 0
  while value >= 1024, unit < units.count - 1 {
    value /= 1024
    unit += 1
  }
  return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f", value) + " " + units[unit]
}

/// 1234567 → "1,234,567"; huge values in scientific notation.
func formatCount(_ value: Double) -> String {
  guard value < 1e15 else { return String(format: "%.3g", value) }
  let digits = String(Int(value))
  var out = ""
  for (i, c) in digits.reversed().enumerated() {
    if i > 0, i % 3 == 0 { out.append(",") }
    out.append(c)
  }
  return String(out.reversed())
}

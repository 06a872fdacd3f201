// Rules about the network's shape: sizes n^k, activations per layer, loss × activation × task,
// and whether parameters, gradients, optimizer state and activations fit in memory.

import Foundation

extension CheckContext {
  /// Checks `input` and every layer; nil when any layer is unusable.
  mutating func checkLayers() -> [CheckedLayer]? {
    _ = checked(.input, in: spec.top)
    guard let layers = spec.layers else { return nil }
    var result: [CheckedLayer] = []
    checkLayerNames(layers)
    for (index, layer) in layers.enumerated() {
      let isOutput = index == layers.count - 1
      let name = layer[.layerName]?.value ?? "layer\(index + 1)"
      let activation = value(.activation, in: layer)
      if activation == .softmax, layer[.units]?.value == 1, let at = layer[.units]?.location {
        report(
          Diagnostic(
            .lossMismatch, "softmax over one unit always outputs 1", at: at,
            help:
              "for two classes use '{units: 1, activation: sigmoid}' with 'binary_cross_entropy', or 2 softmax units"
          ))
      }
      if activation == .softmax, !isOutput, let at = layer[.activation]?.location {
        report(
          Diagnostic(
            .softmaxHidden,
            "softmax on hidden layer '\(name)'; softmax is for the output layer only",
            at: at, help: "use relu, tanh or another element-wise activation here"))
      }
      var parameter: Double?
      for key in SpecKeys.activationParameters {
        guard let given = checked(key, in: layer) else { continue }
        if key.info.name == activation.parameter?.key {
          parameter = given.value
        } else {
          report(
            Diagnostic(
              .ignoredSetting,
              "'\(given.path)' has no effect on a '\(activation.rawValue)' layer",
              at: given.location))
        }
      }
      guard let units = checked(.units, in: layer) else { continue }
      let dropout = value(.dropout, in: layer)
      if dropout > 0, isOutput, let at = layer[.dropout]?.location {
        report(
          Diagnostic(
            .conflict, "dropout on the output layer would drop predictions", at: at,
            help: "put 'dropout' on a hidden layer"))
      }
      result.append(
        CheckedLayer(
          name: name, units: units.value, activation: activation,
          parameter: parameter.map(Float.init), initializer: value(.initializer, in: layer),
          dropout: Float(dropout)))
    }
    return result.count == layers.count ? result : nil
  }

  /// Layer names, after defaults (`layer<k>`), name tensors `<name>.weight` and `<name>.bias`:
  /// each must be a plain identifier and unique, or one layer would overwrite another's tensors.
  private mutating func checkLayerNames(_ layers: [SpecSectionValues]) {
    var seen: [String: (index: Int, at: SourceLocation?)] = [:]
    for (index, layer) in layers.enumerated() {
      let given = layer[.layerName]
      let name = given?.value ?? "layer\(index + 1)"
      if let given, !isLayerName(given.value) {
        report(
          Diagnostic(
            .badLayerName, "layer name '\(given.value)' is not a plain name", at: given.location,
            help: "use letters, digits, '_' and '-', starting with a letter or '_' (at most 64)"))
        continue
      }
      if let first = seen[name] {
        // Point at a name the user wrote; the note names the other layer.
        let (at, other, otherAt) =
          given != nil || first.at == nil
          ? (given?.location ?? layer.location, first.index, first.at)
          : (first.at!, index, nil)
        let note = DiagnosticNote(
          otherAt == nil ? "layer \(other + 1) has it by default" : "also used here",
          at: otherAt ?? layers[other].location)
        report(
          Diagnostic(
            .duplicateLayerName,
            "layer name '\(name)' is used by layers \(first.index + 1) and \(index + 1)",
            at: at, notes: [note], help: "give each layer its own name"))
      }
      seen[name] = seen[name] ?? (index, given?.location)
    }
  }

  private func isLayerName(_ s: String) -> Bool {
    guard let first = s.unicodeScalars.first, s.unicodeScalars.count <= 64,
      first == "_" || (first.isASCII && first.properties.isAlphabetic)
    else { return false }
    return s.unicodeScalars.allSatisfy {
      $0.isASCII
        && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
    }
  }

  /// The loss, defaulted by task, checked against the task and the output activation.
  mutating func checkLoss(layers: [CheckedLayer]?) -> LossKind? {
    guard let task = spec.top[.task]?.value else { return nil }
    let loss = spec.top[.loss]?.value.kind ?? (task == .classification ? .crossEntropy : .mse)
    let at = spec.top[.loss]?.location ?? rootLocation
    if loss == .mse, let e = spec.top[.loss]?.value.labelSmoothing {
      report(
        Diagnostic(
          .lossMismatch, "'label_smoothing' applies to classification losses, not 'mse'",
          at: e.location, help: "remove it, or use cross_entropy or binary_cross_entropy"))
    }
    guard let output = layers?.last, let outputSpec = spec.layers?.last else { return loss }
    let activationAt = outputSpec[.activation]?.location ?? outputSpec.location
    let outputNote = DiagnosticNote(
      "output layer '\(output.name)' has activation '\(output.activation.rawValue)'",
      at: activationAt)
    switch (loss, task) {
    case (.crossEntropy, .regression), (.binaryCrossEntropy, .regression):
      report(
        Diagnostic(
          .lossMismatch, "'\(loss.rawValue)' is a classification loss but the task is regression",
          at: at, help: "use 'loss: mse' for regression"))
    case (.crossEntropy, .classification) where output.activation != .softmax:
      report(
        Diagnostic(
          .lossMismatch, "'cross_entropy' needs a softmax output layer", at: at,
          notes: [outputNote], help: "set 'activation: softmax' on the output layer"))
    case (.binaryCrossEntropy, .classification)
    where output.activation != .sigmoid || output.units != 1:
      report(
        Diagnostic(
          .binaryCrossEntropyShape,
          "'binary_cross_entropy' needs one sigmoid output unit, found \(output.units) '\(output.activation.rawValue)' units",
          at: at, notes: [outputNote],
          help:
            "use '{units: 1, activation: sigmoid}' as the output layer, or softmax with cross_entropy"
        ))
    case (.mse, _) where output.activation == .softmax:
      if task == .regression {
        report(
          Diagnostic(
            .lossMismatch, "softmax output on a regression task", at: activationAt,
            help: "use 'activation: identity' on the output layer"))
      } else {
        report(
          Diagnostic(
            .mseOnSoftmax, "'mse' on softmax outputs trains slowly", at: at, notes: [outputNote],
            help: "use 'loss: cross_entropy'"))
      }
    default: break
    }
    return loss
  }

  /// Refuses a network whose arena cannot even be addressed; remembers its sizes so that
  /// `checkMemory(samples:…)` can add the data once its size is known.
  mutating func checkArena(
    layers: [CheckedLayer], training: TrainingConfig, input: Int? = nil,
    embeddings: [EmbeddingTable] = [], periodic: [PeriodicEmbedding] = []
  ) {
    guard let input = input ?? spec.top[.input]?.value, input >= 1 else { return }
    var sizing = ArenaSizing(
      input: input, layers: layers.map { ($0.name, $0.units) }, optimizer: training.optimizer,
      batchSize: training.batchSize,
      // The plan weighs each row's loss when classes are weighted: a buffer of its own.
      sampleWeights: spec.data?[.classWeights] != nil,
      dropoutLayers: Set(layers.indices.filter { layers[$0].dropout > 0 }.map { $0 + 1 }),
      preActivationLayers: ArenaLayout.preActivationLayers(layers.map(\.activation)),
      averaged: training.ema != nil, frontScale: spec.top[.frontScale]?.value ?? false,
      // Out of range is reported by the key's own check; size what it would be inside.
      members: min(max(spec.top[.ensemble]?.value.members ?? 1, 1), Network.maximumMembers),
      ensembleKind: spec.top[.ensemble]?.value.kind ?? .mini)
    sizing.embeddings = embeddings
    sizing.periodic = periodic
    guard sizing.layout(samples: 1) != nil else {
      report(
        Diagnostic(
          .tooLarge, "network has more parameters than memory can address",
          at: spec.layersLocation ?? rootLocation, help: "use fewer or narrower layers"))
      return
    }
    arenaSizing = sizing
  }

  /// Refuses a run whose arena (at min(batch, samples) rows, the bytes `mlpc plan` reports) and
  /// data (`samples` rows of `floatsPerSample` floats, and a class index per row for
  /// classification) would not fit in physical memory, naming the bytes, at `location` when the
  /// data is the larger part. False when refused.
  mutating func checkMemory(
    samples: Int, floatsPerSample: Int, labels: Bool, source: String, at location: SourceLocation
  ) -> Bool {
    guard let sizing = arenaSizing,
      !sizing.fits(samples: samples, floatsPerSample: floatsPerSample, labels: labels)
    else { return true }
    let available = availableMemory()
    let arena = sizing.layout(samples: samples).map { Double($0.bytes) } ?? .infinity
    let data = sizing.dataBytes(samples: samples, floatsPerSample: floatsPerSample, labels: labels)
    let limited = available < Double(ProcessInfo.processInfo.physicalMemory)
    let rows = ArenaLayout.rows(batchSize: sizing.batchSize, samples: samples)
    report(
      Diagnostic(
        .tooLarge,
        "training needs \(formatBytes(arena + data)): \(formatBytes(data)) for \(formatCount(Double(samples))) samples of \(source) and a \(formatBytes(arena)) arena (parameters, gradients, optimizer state, \(rows) rows of activations), but \(limited ? "the process's address-space limit (ulimit -v) leaves" : "this machine has") \(formatBytes(available))",
        at: data > arena ? location : spec.layersLocation ?? rootLocation,
        help: "use fewer samples, fewer or narrower layers, or a smaller batch"))
    return false
  }
}

/// What the arena's size depends on, known before the data is.
struct ArenaSizing {
  var input: Int
  var layers: [(name: String, units: Int)]
  var optimizer: OptimizerKind
  var batchSize: Int
  var sampleWeights = false
  var dropoutLayers: Set<Int> = []
  /// Layers whose activation keeps z^k for its derivative (gelu, silu).
  var preActivationLayers: Set<Int> = []
  /// Whether training keeps a moving average of the parameters.
  var averaged = false
  /// Whether x^0 is scaled by a learned front scale.
  var frontScale = false
  /// The ensemble's k (1: none).
  var members = 1
  /// How the members share the network.
  var ensembleKind = EnsembleKind.mini
  /// The feature block's embedding tables (known once the training rows are fitted).
  var embeddings: [EmbeddingTable] = []
  /// The feature block's periodic embeddings (known once the training rows are fitted).
  var periodic: [PeriodicEmbedding] = []

  /// The layout the plan compiler will use for a training set of `samples` rows.
  func layout(samples: Int) -> ArenaLayout? {
    let loaded = Network.loadedColumns(input: input, embeddings: embeddings, periodic: periodic)
    guard loaded >= 1 else { return nil }
    return ArenaLayout(
      input: input, layers: layers,
      batchSize: ArenaLayout.rows(batchSize: batchSize, samples: samples),
      optimizerSlots: optimizer.stateSlots, sampleWeights: sampleWeights,
      dropoutLayers: dropoutLayers, preActivationLayers: preActivationLayers, averaged: averaged,
      frontScale: frontScale,
      embeddings: embeddings.map { ($0.tensorName, $0.rows, $0.dim) },
      periodic: PeriodicEmbedding.tensors(periodic).map { ($0.name, $0.shape) },
      periodicWidth: PeriodicEmbedding.width(periodic), loadedColumns: loaded, members: members,
      ensembleKind: ensembleKind)
  }

  /// Bytes of `samples` rows in memory: the floats, and for classification a label (as read
  /// from a file, up to 16 bytes) and a class index per row.
  func dataBytes(samples: Int, floatsPerSample: Int, labels: Bool) -> Double {
    Double(samples) * (4 * Double(floatsPerSample) + (labels ? 24 : 0))
  }

  /// Whether the arena and the data fit in physical memory.
  func fits(samples: Int, floatsPerSample: Int, labels: Bool) -> Bool {
    guard let arena = layout(samples: samples) else { return false }
    let data = dataBytes(samples: samples, floatsPerSample: floatsPerSample, labels: labels)
    return Double(arena.bytes) + data <= availableMemory()
  }
}

/// Bytes training may still allocate: physical memory, or less when the process runs under an
/// address-space limit (`ulimit -v`, a container's): the limit minus what is mapped already
/// (code, thread stacks, a mapped CSV file) and a reserve for the copies data preparation makes.
func availableMemory() -> Double {
  let physical = Double(ProcessInfo.processInfo.physicalMemory)
  var limit = rlimit()
  guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0,
    limit.rlim_cur != rlim_t.max
  else { return physical }
  let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
  let pages = Double(statm.split(separator: " ").first.flatMap { Int($0) } ?? 0)
  let mapped = pages * Double(sysconf(Int32(_SC_PAGESIZE)))
  let reserve = 64.0 * 1024 * 1024
  return max(0, min(physical, Double(limit.rlim_cur) - mapped - reserve))
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

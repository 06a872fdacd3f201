// The arena's layout: every buffer's name, role, shape and aligned offset, computed from widths
// alone. The one memory computation: the plan compiler places buffers with it, `mlpc plan`
// prints it, and the checker's E008 sizes a network with it before any plan or data exists
// (which is why it takes plain widths and names, not a checked spec). All arithmetic is
// overflow-checked: sizes that cannot be addressed give no layout instead of wrapping.

/// Buffers and offsets of one arena.
public struct ArenaLayout: Sendable {
  /// Floats per alignment unit (64 bytes).
  static let alignment = 16

  public private(set) var buffers: [Buffer] = []
  /// Floats in the arena, padding included.
  public private(set) var count = 0

  /// Bytes of the arena.
  public var bytes: Int { count * 4 }

  /// Rows of a training step: the configured batch, or every sample when there are fewer (the
  /// one place this rule is written; the checker sizes E008 and the plan compiler compiles by it).
  public static func rows(batchSize: Int, samples: Int) -> Int {
    max(1, min(batchSize, samples))
  }

  /// The layout for `layers` (name and n^k) over `input` features at `batchSize` rows. With
  /// `optimizerSlots` set, the layout trains: gradients, that many optimizer state slots, a
  /// target and per-layer deltas, with `sampleWeights` a loss weight per row, and a dropout mask
  /// for each layer in `dropoutLayers` (1-based), and z^k for each layer in
  /// `preActivationLayers` (activations whose σ' is taken from z), and with `averaged` the moving
  /// average of the parameters after the optimizer state. With `frontScale`, the learned scale
  /// of x^0 follows the other parameters, and x^0 ⊙ s (with its delta) is a buffer. With
  /// `embeddings` (tensor name, rows, width),
  /// the tables follow the layers' parameters (and their gradients the layers' gradients), a
  /// loaded row has `loadedColumns` columns and x^0 (with ∂L/∂x^0 in training) is a buffer of its
  /// own. With `periodic` tensors (name, shape), they follow the tables (their gradients the
  /// tables' gradients), and the batch's periodic features (with their delta in training) are
  /// a (B, `periodicWidth`) buffer. With `members` k > 1 (an ensemble, TabM-mini), the output layer's weight and bias
  /// hold k members, (k, n^N, n^{N-1}) and (k, n^N), the adapters r (k, n^0) are the last
  /// parameter, and every batch buffer from layer 1's input on has k·B rows (member-major),
  /// with the members' averaged x^N in a (B, n^N) buffer of its own.
  /// Nil when some size cannot be addressed.
  public init?(
    input: Int, layers: [(name: String, units: Int)], batchSize: Int, optimizerSlots: Int?,
    sampleWeights: Bool = false, dropoutLayers: Set<Int> = [],
    preActivationLayers: Set<Int> = [], averaged: Bool = false, frontScale: Bool = false,
    embeddings: [(name: String, rows: Int, dim: Int)] = [],
    periodic: [(name: String, shape: [Int])] = [], periodicWidth: Int = 0,
    loadedColumns: Int? = nil, members: Int = 1, ensembleKind: EnsembleKind = .mini
  ) {
    let widths = [input] + layers.map(\.units)
    let n = layers.count
    guard n >= 1, widths.allSatisfy({ $0 >= 1 }), batchSize >= 1, members >= 1,
      embeddings.allSatisfy({ $0.rows >= 1 && $0.dim >= 1 }), (loadedColumns ?? 1) >= 1,
      periodic.allSatisfy({ $0.shape.allSatisfy { $0 >= 1 } }),
      periodic.isEmpty == (periodicWidth == 0), periodicWidth >= 0
    else { return nil }
    let expands = !embeddings.isEmpty || !periodic.isEmpty
    let training = optimizerSlots != nil
    let ensemble = members > 1
    // The members' own layers' tensors lead with the member axis (an ensemble's output layer;
    // every layer of independent members).
    let own = Network.memberLayers(members: members, kind: ensembleKind, layers: n)
    let heads = { (k: Int) in own.contains(k) ? [members] : [] }
    let adapters = ensemble && ensembleKind != .independent
    // BatchEnsemble layers: a shared W, the members' own biases and scales.
    let batchEnsemble = Network.batchEnsembleLayers(
      members: members, kind: ensembleKind, layers: n)
    let biasHeads = { (k: Int) in batchEnsemble.contains(k) ? [members] : heads(k) }
    do {
      for k in 1...n {
        try add(
          "\(layers[k - 1].name).weight", .weight(layer: k), heads(k) + [widths[k], widths[k - 1]])
        try add("\(layers[k - 1].name).bias", .bias(layer: k), biasHeads(k) + [widths[k]])
      }
      for (e, table) in embeddings.enumerated() {
        try add(table.name, .embedding(table: e), [table.rows, table.dim])
      }
      for (t, tensor) in periodic.enumerated() {
        try add(tensor.name, .periodic(tensor: t), tensor.shape)
      }
      if frontScale { try add(Network.frontScaleName, .frontScale, [widths[0]]) }
      if adapters { try add(Network.adapterName, .ensembleAdapter, [members, widths[0]]) }
      for k in batchEnsemble.sorted() {
        let name = layers[k - 1].name
        if k > 1 {
          try add(
            Network.inputScaleName(name), .memberInputScale(layer: k), [members, widths[k - 1]])
        }
        try add(Network.outputScaleName(name), .memberOutputScale(layer: k), [members, widths[k]])
      }
      let parameterFloats = count
      if let optimizerSlots {
        for k in 1...n {
          let name = layers[k - 1].name
          try add(
            "\(name).weight.grad", .weightGradient(layer: k),
            heads(k) + [widths[k], widths[k - 1]])
          try add("\(name).bias.grad", .biasGradient(layer: k), biasHeads(k) + [widths[k]])
        }
        for (e, table) in embeddings.enumerated() {
          try add("\(table.name).grad", .embeddingGradient(table: e), [table.rows, table.dim])
        }
        for (t, tensor) in periodic.enumerated() {
          try add("\(tensor.name).grad", .periodicGradient(tensor: t), tensor.shape)
        }
        if frontScale {
          try add("\(Network.frontScaleName).grad", .frontScaleGradient, [widths[0]])
        }
        if adapters {
          try add("\(Network.adapterName).grad", .ensembleAdapterGradient, [members, widths[0]])
        }
        for k in batchEnsemble.sorted() {
          let name = layers[k - 1].name
          if k > 1 {
            try add(
              Network.inputScaleName(name) + ".grad", .memberInputScaleGradient(layer: k),
              [members, widths[k - 1]])
          }
          try add(
            Network.outputScaleName(name) + ".grad", .memberOutputScaleGradient(layer: k),
            [members, widths[k]])
        }
        for slot in 0..<optimizerSlots {
          try add("optimizer.state\(slot)", .optimizerState(slot: slot), [parameterFloats])
        }
        if averaged { try add("parameters.average", .parameterAverage, [parameterFloats]) }
      }
      if !expands {
        try add("input", .input, [batchSize, widths[0]])
      } else {
        try add("input", .input, [batchSize, loadedColumns ?? widths[0]])
        try add("x0", .embedded, [batchSize, widths[0]])
        if training { try add("x0.delta", .delta(layer: 0), [batchSize, widths[0]]) }
      }
      if periodicWidth > 0 {
        try add("x0.periodic", .periodicFeatures, [batchSize, periodicWidth])
        if training {
          try add("x0.periodic.delta", .periodicFeaturesDelta, [batchSize, periodicWidth])
        }
      }
      if frontScale {
        try add("x0.scaled", .scaledInput, [batchSize, widths[0]])
        if training { try add("x0.scaled.delta", .scaledInputDelta, [batchSize, widths[0]]) }
      }
      if training { try add("target", .target, [batchSize, widths[n]]) }
      if training, sampleWeights { try add("sample_weight", .sampleWeight, [batchSize]) }
      // The members' rows: k copies of the batch from layer 1's input on.
      let rows = try checkedProduct([members, batchSize])
      let adapted = Network.learnsAdaptersInFirstLayer(
        members: members, kind: ensembleKind, layers: n)
      if ensemble {
        try add("x0.members", .memberInput, [rows, widths[0]])
        if adapted, runsPay(inputs: widths[0], outputs: widths[1]) {
          try add("x0.runs", .runTerms, [batchSize, widths[0]])
          try add("\(layers[0].name).weight.t", .runTransposed, [widths[0], widths[1]])
          try add("x0.pieces", .runPieces, [runPiecesRows(batchSize), widths[0]])
        }
        if training, adapted {
          // Layer 1's backward takes ∂L/∂r from per-member products; W ⊙ r_m only when
          // something below x^0 learns (∂L/∂x^0 is then needed).
          let shape = [members, widths[1], widths[0]]
          try add("\(layers[0].name).members.delta_x", .memberWeightProduct, shape)
          if expands || frontScale {
            try add("\(layers[0].name).weight.members", .memberWeight, shape)
          }
        } else if training {
          try add("x0.members.delta", .memberInputDelta, [rows, widths[0]])
        }
        if training {
          try add("target.members", .memberTarget, [rows, widths[n]])
          if sampleWeights { try add("sample_weight.members", .memberSampleWeight, [rows]) }
        }
      }
      for k in 1...n {
        if batchEnsemble.contains(k) {
          try add(
            "\(layers[k - 1].name).scaled", .memberScaledInput(layer: k), [rows, widths[k - 1]])
          try add("\(layers[k - 1].name).product", .memberProduct(layer: k), [rows, widths[k]])
        }
        if training, preActivationLayers.contains(k) {
          try add("\(layers[k - 1].name).z", .preActivation(layer: k), [rows, widths[k]])
        }
        try add("\(layers[k - 1].name).x", .activation(layer: k), [rows, widths[k]])
        if training {
          try add("\(layers[k - 1].name).delta", .delta(layer: k), [rows, widths[k]])
        }
        if training, dropoutLayers.contains(k) {
          try add("\(layers[k - 1].name).mask", .dropoutMask(layer: k), [rows, widths[k]])
        }
      }
      if ensemble { try add("output", .ensembleOutput, [batchSize, widths[n]]) }
      _ = try checkedProduct([count, 4])
    } catch {
      return nil
    }
  }

  /// The layers (1-based) whose z^k a training layout keeps: those whose activation takes σ'
  /// from z (the one rule; the checker sizes E008 and the plan compiler compiles by it).
  public static func preActivationLayers(_ activations: [Activation]) -> Set<Int> {
    Set(activations.indices.filter { activations[$0].savesInput }.map { $0 + 1 })
  }

  /// The buffer with `role`, if the layout has one.
  public func first(_ role: BufferRole) -> Buffer? { buffers.first { $0.role == role } }

  /// The arena range from the first buffer with role `first` to the aligned end of the last
  /// with `last` (padding included, so ranges laid out alike have equal counts).
  func range(from first: BufferRole, through last: BufferRole) -> ArenaRange? {
    guard let a = self.first(first), let b = buffers.last(where: { $0.role == last }) else {
      return nil
    }
    let end = b.offset + Self.units(b.count) * Self.alignment  // inside a checked layout
    return ArenaRange(offset: a.offset, count: end - a.offset)
  }

  /// The whole alignment units that hold `floats` (rounded up by division: no overflow).
  static func units(_ floats: Int) -> Int {
    floats / alignment + (floats % alignment == 0 ? 0 : 1)
  }

  private mutating func add(_ name: String, _ role: BufferRole, _ shape: [Int]) throws {
    let padded = try checkedProduct([Self.units(try checkedProduct(shape)), Self.alignment])
    buffers.append(
      Buffer(
        id: BufferID(index: buffers.count), name: name, role: role, shape: shape, offset: count))
    let (sum, overflow) = count.addingReportingOverflow(padded)
    if overflow { throw SizeOverflow() }
    count = sum
  }
}

/// A size that does not fit in an `Int`.
struct SizeOverflow: Error {}

/// The product of `factors`, or `SizeOverflow`.
func checkedProduct(_ factors: [Int]) throws(SizeOverflow) -> Int {
  var product = 1
  for f in factors {
    let (p, overflow) = product.multipliedReportingOverflow(by: f)
    if overflow || f < 0 { throw SizeOverflow() }
    product = p
  }
  return product
}

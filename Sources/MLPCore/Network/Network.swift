// The network a plan is compiled from: n^0 and the checked layers, without training settings
// or data, shared by Check (which builds it from a spec), Plan and Model (which builds it from a
// model file).

/// One layer after checking: n^k units and σ^k.
public struct CheckedLayer: Sendable, Equatable {
  public var name: String
  public var units: Int
  public var activation: Activation
  /// σ's parameter (leaky_relu's slope, elu's alpha), its default when not given; 0 if none.
  public var parameter: Float
  /// Resolved initialiser (never `.auto`).
  public var initializer: InitKind
  /// The dropout probability on the layer's output during training (0: none).
  public var dropout: Float

  public init(
    name: String, units: Int, activation: Activation, parameter: Float? = nil,
    initializer: InitKind = .auto, dropout: Float = 0
  ) {
    self.dropout = dropout
    self.name = name
    self.units = units
    self.activation = activation
    self.parameter = parameter ?? Float(activation.parameter?.defaultValue ?? 0)
    self.initializer = initializer == .auto ? activation.defaultInitializer : initializer
  }
}

/// A learned table for one categorical feature column (`encoding: embedding`): its level's code
/// in column `column` of a loaded row selects one of `rows` rows of width `dim`, placed at
/// columns offset..<offset + dim of x^0. The last row is the unknown level (a level never seen
/// in training) or, when the column groups rare levels, their shared "other" level.
public struct EmbeddingTable: Sendable, Equatable {
  /// The feature column's name.
  public var name: String
  public var rows: Int
  public var dim: Int
  /// Where the code is in a loaded row, and where the looked-up row goes in x^0.
  public var column: Int
  public var offset: Int
  /// Whether the last row is the unknown level (no training row selects it; it starts at 0 and
  /// stays there), rather than a trained "other" level.
  public var unknownRow: Bool

  public init(name: String, rows: Int, dim: Int, column: Int, offset: Int, unknownRow: Bool) {
    (self.name, self.rows, self.dim) = (name, rows, dim)
    (self.column, self.offset, self.unknownRow) = (column, offset, unknownRow)
  }

  /// The parameter tensor's name in model files.
  public var tensorName: String { Self.tensorName(column: name) }

  /// The table tensor's name for feature column `column`.
  public static func tensorName(column: String) -> String { "\(column).embedding" }
}

/// A periodic embedding of one numeric feature column (`embedding: periodic`; PLR, Gorishniy et
/// al. 2022): its scaled value x in column `column` of a loaded row becomes
/// ReLU(W·[cos 2πf·x, sin 2πf·x] + b), `dim` columns of x^0 from `offset` on, with K
/// `frequencies` f (drawn N(0, σ²) truncated at ±3σ) and its own linear layer W (dim, 2K),
/// b (dim), or with `lite` one W and b shared by every lite column.
public struct PeriodicEmbedding: Sendable, Equatable {
  /// The feature column's name.
  public var name: String
  public var frequencies: Int
  public var dim: Int
  /// σ of the frequencies' initialisation.
  public var sigma: Double
  public var lite: Bool
  /// Where the value is in a loaded row, and where the embedding goes in x^0.
  public var column: Int
  public var offset: Int

  public init(
    name: String, frequencies: Int, dim: Int, sigma: Double, lite: Bool, column: Int, offset: Int
  ) {
    (self.name, self.frequencies, self.dim, self.sigma) = (name, frequencies, dim, sigma)
    (self.lite, self.column, self.offset) = (lite, column, offset)
  }

  /// The tensors' names in model files.
  public var frequenciesName: String { "\(name).periodic.frequencies" }
  public var weightName: String { lite ? "periodic.lite.weight" : "\(name).periodic.weight" }
  public var biasName: String { lite ? "periodic.lite.bias" : "\(name).periodic.bias" }
}

extension PeriodicEmbedding {
  /// The parameter tensors of `list`: each distinct linear layer's weight (dim, 2K) and bias
  /// (dim) in column order, then every column's frequencies (K) (not decayed: the update's decay
  /// factors are set per tensor).
  public static func tensors(_ list: [PeriodicEmbedding]) -> [PeriodicTensor] {
    var linear: [PeriodicTensor] = []
    var seen: Set<String> = []
    for p in list where seen.insert(p.weightName).inserted {
      linear.append(
        PeriodicTensor(
          name: p.weightName, shape: [p.dim, 2 * p.frequencies],
          kind: .weight(inputs: 2 * p.frequencies)))
      linear.append(
        PeriodicTensor(name: p.biasName, shape: [p.dim], kind: .bias(inputs: 2 * p.frequencies)))
    }
    return linear
      + list.map {
        PeriodicTensor(
          name: $0.frequenciesName, shape: [$0.frequencies], kind: .frequencies(sigma: $0.sigma))
      }
  }

  /// The columns of the periodic features buffer of `list`: 2K each.
  public static func width(_ list: [PeriodicEmbedding]) -> Int {
    list.reduce(0) { $0 + 2 * $1.frequencies }
  }
}

/// A parameter tensor of the periodic embeddings, and what it is.
public struct PeriodicTensor: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    /// Frequencies, drawn N(0, σ²) truncated at ±3σ; not decayed.
    case frequencies(sigma: Double)
    /// A linear layer's weight or bias over `inputs` = 2K values, drawn U(±1/√(2K)) as
    /// `rtdl_num_embeddings` does.
    case weight(inputs: Int)
    case bias(inputs: Int)
  }
  public var name: String
  public var shape: [Int]
  public var kind: Kind
}

/// How an ensemble's members share the network.
public enum EnsembleKind: String, Sendable, CaseIterable, Codable {
  /// TabM-mini: every layer shared but the output layer; member m reads x^0 ⊙ r_m.
  case mini
  /// k separate networks: every layer the members' own, no adapters.
  case independent
  /// TabM: BatchEnsemble hidden layers (a shared W, each member's input scale r, output scale s
  /// and bias; layer 1's r is the adapter in front of it) and the members' own output layers.
  case batchEnsemble = "batch_ensemble"
}

/// The `ensemble` key: k members and how they share the network.
public struct EnsembleValue: Sendable, Equatable, CustomStringConvertible {
  public var members: Int
  public var kind: EnsembleKind

  public init(members: Int, kind: EnsembleKind = .mini) {
    (self.members, self.kind) = (members, kind)
  }

  public var description: String {
    kind == .mini ? String(members) : "{members: \(members), kind: \(kind.rawValue)}"
  }
}

/// What a plan is compiled from: the network alone, without training settings or data, so a
/// plan can also come from a trained model's description.
public struct Network: Sendable, Equatable {
  public let name: String
  public let task: Task
  /// n^0
  public let input: Int
  /// Layers 1...N.
  public let layers: [CheckedLayer]
  public let loss: LossKind
  /// The embedding tables of the feature block, in column order (empty: x^0 is the loaded row).
  public let embeddings: [EmbeddingTable]
  /// The periodic embeddings of numeric columns, in column order.
  public let periodic: [PeriodicEmbedding]
  /// Whether a learned scale s (n^0) multiplies x^0 before the first layer (RealMLP's front
  /// scale): layer 1 reads x^0 ⊙ s.
  public let frontScale: Bool

  /// The ensemble's size k (TabM-mini; 1: a single network): k members share every layer but
  /// the output layer, each with its own output layer and input adapter r_m (layer 1 reads
  /// x^0 ⊙ r_m); they train at once as one batch of k·B rows, and predict the mean of their x^N.
  public let members: Int
  /// How the members share the network (with `members` > 1).
  public let ensembleKind: EnsembleKind
  /// Where each feature's encoding starts in x^0, when the network has a feature block (empty:
  /// x^0 is the loaded row); layer 1's path for rows of runs cuts its blocks there.
  public let featureStarts: [Int]

  /// The front scale's tensor name in model files.
  public static let frontScaleName = "front.scale"
  /// The ensemble's input adapters' tensor name in model files.
  public static let adapterName = "ensemble.adapter"
  /// The largest ensemble a spec or model file may ask for.
  public static let maximumMembers = 64

  public init(
    name: String, task: Task, input: Int, layers: [CheckedLayer], loss: LossKind,
    embeddings: [EmbeddingTable] = [], periodic: [PeriodicEmbedding] = [],
    frontScale: Bool = false, members: Int = 1, ensembleKind: EnsembleKind = .mini,
    featureStarts: [Int] = []
  ) {
    self.ensembleKind = ensembleKind
    self.featureStarts = featureStarts
    precondition(input >= 1 && !layers.isEmpty && members >= 1)
    self.periodic = periodic
    self.members = members
    self.embeddings = embeddings
    self.frontScale = frontScale
    self.name = name
    self.task = task
    self.input = input
    self.layers = layers
    self.loss = loss
  }

  /// n^0, n^1, ..., n^N
  public var widths: [Int] { [input] + layers.map(\.units) }

  /// The layers (1-based) whose weight and bias are each member's own: the output layer of a
  /// TabM-mini ensemble, every layer of independent members, none of a single network.
  public var memberLayers: Set<Int> {
    Self.memberLayers(members: members, kind: ensembleKind, layers: layers.count)
  }

  /// `memberLayers` of `layers` layers.
  public static func memberLayers(members: Int, kind: EnsembleKind, layers: Int) -> Set<Int> {
    guard members > 1 else { return [] }
    return kind == .independent ? Set(1...layers) : [layers]
  }

  /// Whether the members read x^0 through adapters r_m (TabM-mini, and TabM's first r).
  public var hasAdapters: Bool { members > 1 && ensembleKind != .independent }

  /// Whether layer 1's backward pass takes ∂L/∂r itself (TabM-mini with hidden layers: W^1 is
  /// shared, so ∂L/∂r_m = Σ_o (δ_mᵀ · x^0) ⊙ W^1, per member, instead of from ∂L/∂(x^0 ⊙ r_m)).
  public var learnsAdaptersInFirstLayer: Bool {
    Self.learnsAdaptersInFirstLayer(members: members, kind: ensembleKind, layers: layers.count)
  }

  /// `learnsAdaptersInFirstLayer` of `layers` layers.
  public static func learnsAdaptersInFirstLayer(members: Int, kind: EnsembleKind, layers: Int)
    -> Bool
  {
    members > 1 && kind == .mini && layers > 1
  }

  /// The BatchEnsemble layers (1-based): every hidden layer of TabM, none otherwise.
  public var batchEnsembleLayers: Set<Int> {
    Self.batchEnsembleLayers(members: members, kind: ensembleKind, layers: layers.count)
  }

  /// `batchEnsembleLayers` of `layers` layers.
  public static func batchEnsembleLayers(members: Int, kind: EnsembleKind, layers: Int)
    -> Set<Int>
  {
    members > 1 && kind == .batchEnsemble && layers > 1 ? Set(1..<layers) : []
  }

  /// A BatchEnsemble layer's input scale r (layers after the first) and output scale s names.
  public static func inputScaleName(_ layer: String) -> String { "\(layer).input_scale" }
  public static func outputScaleName(_ layer: String) -> String { "\(layer).output_scale" }

  /// Columns of a loaded row: n^0 with each embedding's width replaced by its one code or value.
  public var loadedColumns: Int {
    Self.loadedColumns(input: input, embeddings: embeddings, periodic: periodic)
  }

  /// `loadedColumns` of n^0 = `input` with these embeddings.
  public static func loadedColumns(
    input: Int, embeddings: [EmbeddingTable], periodic: [PeriodicEmbedding]
  ) -> Int {
    input - embeddings.reduce(0) { $0 + $1.dim - 1 } - periodic.reduce(0) { $0 + $1.dim - 1 }
  }

  /// Whether x^0 is built from the loaded rows (tables or periodic embeddings), rather than
  /// being the loaded rows.
  public var embedsInput: Bool { !embeddings.isEmpty || !periodic.isEmpty }

  /// The periodic embeddings' parameter tensors: each distinct linear layer's weight (dim, 2K)
  /// and bias (dim) in column order, then every column's frequencies (K).
  public var periodicTensors: [PeriodicTensor] { PeriodicEmbedding.tensors(periodic) }

  /// The columns of the periodic features buffer: 2K per periodic embedding.
  public var periodicWidth: Int { PeriodicEmbedding.width(periodic) }

  /// The plain columns between the embedded ones, as runs from a loaded row into x^0.
  public var plainRuns: [ColumnRun] {
    var runs: [ColumnRun] = []
    var (from, to) = (0, 0)
    let embedded =
      embeddings.map { (column: $0.column, offset: $0.offset, dim: $0.dim) }
      + periodic.map { (column: $0.column, offset: $0.offset, dim: $0.dim) }
    for e in embedded.sorted(by: { $0.column < $1.column }) {
      if e.column > from { runs.append(ColumnRun(from: from, to: to, count: e.column - from)) }
      (from, to) = (e.column + 1, e.offset + e.dim)
    }
    if from < loadedColumns {
      runs.append(ColumnRun(from: from, to: to, count: loadedColumns - from))
    }
    return runs
  }
}

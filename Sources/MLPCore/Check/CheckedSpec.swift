// The checker's output: a spec whose every value is present, in range and consistent, with its
// data loaded. Only this type can be compiled into a plan, so an unchecked spec cannot run.

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

  public init(name: String, task: Task, input: Int, layers: [CheckedLayer], loss: LossKind) {
    precondition(input >= 1 && !layers.isEmpty)
    self.name = name
    self.task = task
    self.input = input
    self.layers = layers
    self.loss = loss
  }

  /// n^0, n^1, ..., n^N
  public var widths: [Int] { [input] + layers.map(\.units) }
}

/// The data splits of a checked spec.
public struct PreparedData: Sendable {
  public var train: Dataset
  /// Held out from `train` by `validation_split`, if asked for.
  public var validation: Dataset?
  public var test: Dataset?
  /// Class names in index order, for classification.
  public var classNames: [String]?
  /// Feature names in input order.
  public var featureNames: [String]
  public var targetNames: [String]
  /// Fitted on the training split when `standardize: true`.
  public var standardizer: Standardizer?
  /// `class_weights` resolved to one weight per class id (training loss only).
  public var classWeights: [Float]?
}

/// A spec that passed every check: the network, how to train it, and its data. Created only
/// by `Checker`.
public struct CheckedSpec: Sendable {
  public let file: String
  /// The spec as written.
  public let text: String
  public let network: Network
  public let training: TrainingConfig
  public let data: PreparedData

  public var name: String { network.name }
  public var layers: [CheckedLayer] { network.layers }

  /// Rows per training step: the configured batch, or every sample when there are fewer.
  public var batchSize: Int { min(training.batchSize, data.train.count) }
}

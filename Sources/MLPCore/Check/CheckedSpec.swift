// The checker's output: a spec whose every value is present, in range and consistent, with its
// data loaded. Only this type can be compiled into a plan, so an unchecked spec cannot run.

/// One layer after checking: n^k units and σ^k.
public struct CheckedLayer: Sendable, Equatable {
  public var name: String
  public var units: Int
  public var activation: Activation
  /// Slope for x < 0 when `activation` is leaky_relu.
  public var negativeSlope: Float
  /// Resolved initialiser (never `.auto`).
  public var initializer: InitKind
}

/// Training hyperparameters with defaults applied.
public struct TrainingConfig: Sendable, Equatable {
  public var epochs = 100
  public var batchSize = 32
  public var learningRate = 0.01
  public var optimizer = OptimizerKind.sgd
  public var momentum = 0.9
  public var beta1 = 0.9
  public var beta2 = 0.999
  public var epsilon = 1e-8
  public var weightDecay = 0.0
  public var seed: UInt64 = 0
  public var shuffle = true

  public init() {}
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
}

/// A spec that passed every check. Created only by `Checker`.
public struct CheckedSpec: Sendable {
  public let file: String
  public let name: String
  public let task: Task
  /// n^0
  public let input: Int
  /// Layers 1...N.
  public let layers: [CheckedLayer]
  public let loss: LossKind
  public let training: TrainingConfig
  public let data: PreparedData

  /// n^0, n^1, ..., n^N
  public var widths: [Int] { [input] + layers.map(\.units) }
}

// The checker's output: a spec whose every value is present, in range and consistent, with its
// data loaded. Only this type can be compiled into a plan, so an unchecked spec cannot run.

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
  /// The declared feature columns as read, until the transforms are fitted (then nil).
  public var raw: RawColumns?
  /// The feature transforms fitted on the training split, when `features` declares them.
  public var encoder: FeatureEncoder?
  /// Regression: how targets were scaled for training (fitted on the training split).
  public var targetScaler: TargetScaler?
}

/// A spec that passed every check: the network, how to train it, and its data. Created only
/// by `Checker`.
public struct CheckedSpec: Sendable {
  public let file: String
  /// The spec as written.
  public let text: String
  /// The spec as run: `text` with the overrides applied (`text` itself when there are none).
  public var resolvedText: String
  public let network: Network
  public let training: TrainingConfig
  public let data: PreparedData

  public var name: String { network.name }
  public var layers: [CheckedLayer] { network.layers }

  /// Rows per training step: the configured batch, or every sample when there are fewer.
  public var batchSize: Int {
    ArenaLayout.rows(batchSize: training.batchSize, samples: data.train.count)
  }
}

extension CheckedSpec {
  /// What `early_stopping.refit` trains once early stopping has chosen `epochs`: the same network
  /// from the same start (the seed), on the training rows followed by the validation rows, for
  /// `epochs` epochs, with neither validation rows nor early stopping. The transforms stay those
  /// fitted on the training split, so the model's inputs mean what they meant.
  func refitted(epochs: Int) -> CheckedSpec {
    var training = self.training
    training.epochs = epochs
    training.earlyStopping = nil
    training.schedule.cosineEpochs = max(1, epochs - training.schedule.warmupEpochs)
    var data = self.data
    if let validation = data.validation {
      data.train = data.train.appending(validation)
      data.validation = nil
    }
    return CheckedSpec(
      file: file, text: text, resolvedText: resolvedText, network: network, training: training,
      data: data)
  }
}

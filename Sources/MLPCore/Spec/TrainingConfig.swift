// The training configuration with defaults applied: what the checker makes of `training:` and
// what the trainer, the session and the records read.

/// `training.checkpoint` with defaults applied.
public struct CheckpointSchedule: Sendable, Equatable {
  public var every: Int
  public var keep: Int
}

/// `training.early_stopping` with defaults applied and `mode: auto` resolved.
public struct EarlyStopping: Sendable, Equatable {
  public var monitor: MonitoredMetric
  public var maximize: Bool
  public var patience: Int
  public var minDelta: Double
  public var restoreBest: Bool
}

/// A data split that metrics are reported on.
public enum Split: String, CaseIterable, Sendable, Codable {
  case train, validation, test
}

/// A metric of an evaluation (`Evaluation`): its key in metrics.jsonl and summary.json.
public enum MetricName: String, CaseIterable, Sendable, Codable {
  case loss, accuracy, mse, mae, r2

  /// Accuracy and R² improve upwards; losses and errors downwards.
  public var improvesUpwards: Bool { self == .accuracy || self == .r2 }
  /// Whether the metric exists for `task`.
  public func applies(to task: Task) -> Bool {
    switch self {
    case .loss: true
    case .accuracy: task == .classification
    case .mse, .mae, .r2: task == .regression
    }
  }
}

extension MonitoredMetric {
  /// The split and the metric watched: `validation_accuracy` is (validation, accuracy).
  public var identity: (split: Split, metric: MetricName) {
    switch self {
    case .validationLoss: (.validation, .loss)
    case .validationAccuracy: (.validation, .accuracy)
    case .validationMSE: (.validation, .mse)
    case .validationMAE: (.validation, .mae)
    case .validationR2: (.validation, .r2)
    case .testLoss: (.test, .loss)
    case .testAccuracy: (.test, .accuracy)
    case .testMSE: (.test, .mse)
    case .testMAE: (.test, .mae)
    case .testR2: (.test, .r2)
    case .trainLoss: (.train, .loss)
    }
  }
  public var split: Split { identity.split }
  public var metric: MetricName { identity.metric }
  /// Accuracy and R² improve upwards; losses and errors downwards.
  public var improvesUpwards: Bool { metric.improvesUpwards }
}

/// `training.schedule` with defaults applied: the learning rate of every epoch as PyTorch's
/// `lr_scheduler` computes it (see `LearningRateScheduler`).
public struct ScheduleConfig: Sendable, Equatable {
  public var kind = ScheduleKind.constant
  public var stepSize = 10
  /// γ of `step` and `exponential`.
  public var gamma = 0.1
  public var minLearningRate = 0.0
  /// T_max of `cosine`: the epochs after warm-up.
  public var cosineEpochs = 100
  public var warmupEpochs = 0
  public var warmupStartFactor = 0.1
  /// `plateau`'s metric and settings (`mode: auto` resolved).
  public var monitor = MonitoredMetric.validationLoss
  public var maximize = false
  public var factor = 0.1
  public var patience = 10
  public var threshold = 1e-4
  public var cooldown = 0

  public init() {}
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
  public var alpha = 0.99
  public var centered = false
  public var weightDecay = 0.0
  /// `clip_norm` and `clip_value`, when set.
  public var clipNorm: Double?
  public var clipValue: Double?
  public var seed: UInt64 = 0
  public var shuffle = true
  /// `training.checkpoint`: write a checkpoint every so many epochs, keep the latest few.
  public var checkpoint: CheckpointSchedule?
  public var earlyStopping: EarlyStopping?
  public var schedule = ScheduleConfig()

  public init() {}

  /// The update's hyperparameters in the kernels' precision.
  public var updateRule: UpdateRule {
    UpdateRule(
      learningRate: Float(learningRate), weightDecay: Float(weightDecay),
      momentum: Float(momentum), beta1: Float(beta1), beta2: Float(beta2),
      epsilon: Float(epsilon), clipNorm: clipNorm.map(Float.init),
      clipValue: clipValue.map(Float.init), alpha: Float(alpha), centered: centered)
  }
}

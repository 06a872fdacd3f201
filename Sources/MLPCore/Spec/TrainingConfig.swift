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

extension MonitoredMetric {
  /// Accuracy and R² improve upwards; losses and errors downwards.
  public var improvesUpwards: Bool { rawValue.hasSuffix("accuracy") || rawValue.hasSuffix("r2") }
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

// The training configuration with defaults applied: what the checker makes of `training:` and
// what the trainer, the session and the records read.

/// `training.checkpoint` with defaults applied.
public struct CheckpointSchedule: Sendable, Equatable {
  public var every = 0
  public var keep = 0

  /// The table's defaults.
  public init() { for b in Self.bindings { b.assign(&self, nil) } }

  /// Each key of `training.checkpoint` and the field it sets.
  public static let bindings: [KeyBinding<CheckpointSchedule>] = [
    KeyBinding(.checkpointEvery, \.every), KeyBinding(.checkpointKeep, \.keep),
  ]
}

/// `training.early_stopping` with defaults applied.
public struct EarlyStopping: Sendable, Equatable {
  public var monitor = MonitoredMetric.validationLoss
  public var mode = MonitorMode.auto
  public var patience = 0
  public var minDelta = 0.0
  public var restoreBest = false
  /// Train again on the training and validation rows for the best epoch's number of epochs.
  public var refit = false

  /// The table's defaults.
  public init() { for b in Self.bindings { b.assign(&self, nil) } }

  /// Whether the monitored metric improves upwards (`mode: auto` resolved by the metric).
  public var maximize: Bool { mode == .auto ? monitor.improvesUpwards : mode == .max }

  /// Each key of `training.early_stopping` and the field it sets.
  public static let bindings: [KeyBinding<EarlyStopping>] = [
    KeyBinding(.monitor, \.monitor), KeyBinding(.mode, \.mode),
    KeyBinding(.patience, \.patience), KeyBinding(.minDelta, \.minDelta),
    KeyBinding(.restoreBest, \.restoreBest), KeyBinding(.refit, \.refit),
  ]
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
  public var stepSize = 0
  /// γ of `step` and `exponential`.
  public var gamma = 0.0
  public var minLearningRate = 0.0
  /// T_max of `cosine`: the epochs after warm-up (set from `training.epochs`).
  public var cosineEpochs = 1
  public var warmupEpochs = 0
  public var warmupStartFactor = 0.0
  /// `plateau`'s metric and settings.
  public var monitor = MonitoredMetric.validationLoss
  public var mode = MonitorMode.auto
  public var factor = 0.0
  public var patience = 0
  public var threshold = 0.0
  public var cooldown = 0

  /// The table's defaults (a constant schedule).
  public init() { for b in Self.bindings { b.assign(&self, nil) } }

  /// Whether `plateau`'s metric improves upwards (`mode: auto` resolved by the metric).
  public var maximize: Bool { mode == .auto ? monitor.improvesUpwards : mode == .max }

  /// Each key of `training.schedule`, the field it sets and the schedule types that read it.
  public static let bindings: [KeyBinding<ScheduleConfig>] = {
    let plateau = Variants.schedules([.plateau])
    return [
      KeyBinding(.scheduleType, \.kind),
      KeyBinding(.stepSize, \.stepSize, variants: .schedules([.step])),
      KeyBinding(
        .gamma, \.gamma, variants: .schedules([.step, .exponential]),
        absent: { $0.kind == .exponential ? 0.95 : 0.1 }),
      KeyBinding(.minLearningRate, \.minLearningRate, variants: .schedules([.cosine, .plateau])),
      KeyBinding(.warmupEpochs, \.warmupEpochs),
      KeyBinding(.warmupStartFactor, \.warmupStartFactor),
      KeyBinding(.scheduleMonitor, \.monitor, variants: plateau),
      KeyBinding(.scheduleMode, \.mode, variants: plateau),
      KeyBinding(.factor, \.factor, variants: plateau),
      KeyBinding(.schedulePatience, \.patience, variants: plateau),
      KeyBinding(.threshold, \.threshold, variants: plateau),
      KeyBinding(.cooldown, \.cooldown, variants: plateau),
    ]
  }()
}

/// Training hyperparameters with defaults applied.
public struct TrainingConfig: Sendable, Equatable {
  public var epochs = 0
  public var batchSize = 0
  public var learningRate = 0.0
  public var optimizer = OptimizerKind.sgd
  public var momentum = 0.0
  public var beta1 = 0.0
  public var beta2 = 0.0
  public var epsilon = 0.0
  public var alpha = 0.0
  public var centered = false
  public var weightDecay = 0.0
  /// Label smoothing ε of a classification loss (`loss: {type: …, label_smoothing: ε}`).
  public var labelSmoothing = 0.0
  /// `clip_norm` and `clip_value`, when set.
  /// The decay of the weights' moving average (nil: none).
  public var ema: Double?
  public var clipNorm: Double?
  public var clipValue: Double?
  public var seed: UInt64 = 0
  public var shuffle = false
  /// Whether the run writes TensorBoard event files.
  public var tensorboard = true
  /// `training.checkpoint`: write a checkpoint every so many epochs, keep the latest few.
  public var checkpoint: CheckpointSchedule?
  public var earlyStopping: EarlyStopping?
  public var schedule = ScheduleConfig()

  /// The table's defaults.
  public init() { for b in Self.bindings { b.assign(&self, nil) } }

  /// Each key of `training` and the field it sets; optimizer settings apply to the optimizers
  /// that read them (`OptimizerKind.reads`).
  public static let bindings: [KeyBinding<TrainingConfig>] = {
    let optimizers = Variants.optimizersReading
    return [
      KeyBinding(.epochs, \.epochs), KeyBinding(.batchSize, \.batchSize),
      KeyBinding(.learningRate, \.learningRate), KeyBinding(.optimizer, \.optimizer),
      KeyBinding(
        .momentum, \.momentum, variants: optimizers,
        absent: { $0.optimizer == .rmsprop ? 0 : 0.9 }),
      KeyBinding(.beta1, \.beta1, variants: optimizers),
      KeyBinding(.beta2, \.beta2, variants: optimizers),
      KeyBinding(.epsilon, \.epsilon, variants: optimizers),
      KeyBinding(.alpha, \.alpha, variants: optimizers),
      KeyBinding(.centered, \.centered, variants: optimizers),
      KeyBinding(.weightDecay, \.weightDecay),
      KeyBinding(.ema, optional: \.ema),
      KeyBinding(.clipNorm, optional: \.clipNorm), KeyBinding(.clipValue, optional: \.clipValue),
      KeyBinding(.seed, \.seed, convert: { UInt64($0) }), KeyBinding(.shuffle, \.shuffle),
      KeyBinding(.tensorboard, \.tensorboard),
    ]
  }()

  /// Every setting, section by section (`training`, `checkpoint`, `early_stopping`,
  /// `schedule`), as config.json and the model file record them; a section not written is
  /// absent.
  public var settings: [String: [String: SettingValue]] {
    var out = ["training": Self.bindings.settings(of: self)]
    out["checkpoint"] = checkpoint.map { CheckpointSchedule.bindings.settings(of: $0) }
    out["early_stopping"] = earlyStopping.map { EarlyStopping.bindings.settings(of: $0) }
    var schedule = ScheduleConfig.bindings.settings(of: self.schedule)
    schedule["cosine_epochs"] = .int(self.schedule.cosineEpochs)
    out["schedule"] = schedule
    return out
  }

  /// The configured optimizer, its settings in the kernels' precision. A new optimizer is a
  /// type in MLPKernels/Optimizers.swift and a case here.
  public var updateRule: UpdateRule {
    let (wd, mu, eps) = (Float(weightDecay), Float(momentum), Float(epsilon))
    switch optimizer {
    case .sgd: return .sgd(SGD(weightDecay: wd))
    case .momentum, .nesterov:
      return .momentum(Momentum(momentum: mu, weightDecay: wd, nesterov: optimizer == .nesterov))
    case .adam, .adamw:
      return .adam(
        Adam(
          beta1: Float(beta1), beta2: Float(beta2), epsilon: eps, weightDecay: wd,
          decoupled: optimizer == .adamw))
    case .rmsprop:
      return .rmsprop(
        RMSprop(
          alpha: Float(alpha), epsilon: eps, momentum: mu, centered: centered, weightDecay: wd))
    }
  }

  /// Gradient clipping in the kernels' precision.
  public var clipping: GradientClipping {
    GradientClipping(value: clipValue.map(Float.init), norm: clipNorm.map(Float.init))
  }
}

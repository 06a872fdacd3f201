// Rules for the `training:` section: ranges of epochs, batch size, learning rate and optimizer
// settings, with defaults applied to whatever the spec leaves out.

// A training key is declared in SpecKeys.swift, held in `TrainingConfig` and read in
// `checkTraining` here, and shown in docs/spec.md: three files.

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

extension CheckContext {
  /// The training configuration with defaults, reporting out-of-range values.
  mutating func checkTraining() -> TrainingConfig {
    let t = spec.training
    var config = TrainingConfig()
    config.epochs = value(.epochs, in: t)
    config.batchSize = value(.batchSize, in: t)
    config.learningRate = value(.learningRate, in: t)
    config.optimizer = value(.optimizer, in: t)
    config.momentum =
      checked(.momentum, in: t)?.value ?? (config.optimizer == .rmsprop ? 0 : 0.9)
    config.beta1 = value(.beta1, in: t)
    config.beta2 = value(.beta2, in: t)
    config.epsilon = value(.epsilon, in: t)
    config.alpha = value(.alpha, in: t)
    config.centered = value(.centered, in: t)
    config.weightDecay = value(.weightDecay, in: t)
    config.clipNorm = checked(.clipNorm, in: t)?.value
    config.clipValue = checked(.clipValue, in: t)?.value
    config.seed = UInt64(value(.seed, in: t))
    config.shuffle = value(.shuffle, in: t)
    if let c = spec.checkpoint {
      config.checkpoint = CheckpointSchedule(
        every: value(.checkpointEvery, in: c), keep: value(.checkpointKeep, in: c))
    }
    if let e = spec.earlyStopping {
      let monitor = value(.monitor, in: e)
      var mode = value(.mode, in: e)
      if mode == .auto { mode = monitor.improvesUpwards ? .max : .min }
      config.earlyStopping = EarlyStopping(
        monitor: monitor, maximize: mode == .max, patience: value(.patience, in: e),
        minDelta: value(.minDelta, in: e), restoreBest: value(.restoreBest, in: e))
    }
    warnIgnored(t, optimizer: config.optimizer)
    if let s = spec.schedule { config.schedule = checkSchedule(s, epochs: config.epochs) }
    return config
  }

  private mutating func checkSchedule(_ s: SpecSectionValues, epochs: Int) -> ScheduleConfig {
    var c = ScheduleConfig()
    c.kind = value(.scheduleType, in: s)
    c.stepSize = value(.stepSize, in: s)
    c.gamma = checked(.gamma, in: s)?.value ?? (c.kind == .exponential ? 0.95 : 0.1)
    c.minLearningRate = value(.minLearningRate, in: s)
    c.warmupEpochs = value(.warmupEpochs, in: s)
    c.warmupStartFactor = value(.warmupStartFactor, in: s)
    c.cosineEpochs = max(1, epochs - c.warmupEpochs)
    c.monitor = value(.scheduleMonitor, in: s)
    let mode = value(.scheduleMode, in: s)
    c.maximize = mode == .auto ? c.monitor.improvesUpwards : mode == .max
    c.factor = value(.factor, in: s)
    c.patience = value(.schedulePatience, in: s)
    c.threshold = value(.threshold, in: s)
    c.cooldown = value(.cooldown, in: s)
    // Keys that the chosen type does not read.
    let used: Set<String> =
      switch c.kind {
      case .constant: []
      case .step: ["step_size", "gamma"]
      case .exponential: ["gamma"]
      case .cosine: ["min_learning_rate"]
      case .plateau:
        ["monitor", "mode", "factor", "patience", "threshold", "cooldown", "min_learning_rate"]
      }
    let general: Set<String> = ["type", "warmup_epochs", "warmup_start_factor"]
    for key in SpecKeys.keys(in: .schedule)
    where !used.contains(key.name) && !general.contains(key.name) {
      guard let found = s.values[key.name] else { continue }
      report(
        Diagnostic(
          .ignoredSetting,
          "'\(found.path)' has no effect with schedule type '\(c.kind.rawValue)'",
          at: found.location))
    }
    if c.warmupEpochs >= epochs, let found = s.values["warmup_epochs"] {
      report(
        Diagnostic(
          .ignoredSetting,
          "warm-up of \(c.warmupEpochs) epochs takes all \(epochs) epochs: the schedule never starts",
          at: found.location))
    }
    return c
  }

  /// The monitored metrics (early stopping's, the plateau schedule's) must exist: their split
  /// in the data, their kind for the task.
  mutating func checkMonitor(_ config: TrainingConfig, task: Task?, data: PreparedData?) {
    if let stopping = config.earlyStopping, let e = spec.earlyStopping {
      checkMonitor(
        stopping.monitor, at: e[.monitor]?.location ?? e.location, task: task, data: data)
    }
    if config.schedule.kind == .plateau, let s = spec.schedule {
      checkMonitor(
        config.schedule.monitor, at: s[.scheduleMonitor]?.location ?? s.location, task: task,
        data: data)
    }
  }

  private mutating func checkMonitor(
    _ metric: MonitoredMetric, at: SourceLocation, task: Task?, data: PreparedData?
  ) {
    guard let task, let data else { return }
    let name = metric.rawValue
    if name.hasPrefix("validation"), data.validation == nil {
      report(
        Diagnostic(
          .conflict, "'\(name)' needs a validation split", at: at,
          help: "set 'data.validation_split', e.g. 0.2"))
    } else if name.hasPrefix("test"), data.test == nil {
      report(Diagnostic(.conflict, "'\(name)' needs 'data.test'", at: at))
    } else if name.hasPrefix("test") {
      report(
        Diagnostic(
          .monitorsTestSet, "watching '\(name)' tunes training to the test set", at: at,
          help: "monitor a validation metric and keep the test set for the final estimate"))
    }
    let classification = [.validationAccuracy, .testAccuracy].contains(metric)
    let regression = [.validationMSE, .validationMAE, .validationR2, .testMSE, .testMAE, .testR2]
      .contains(metric)
    if (task == .regression && classification) || (task == .classification && regression) {
      report(
        Diagnostic(.conflict, "'\(name)' is not a metric of \(task.rawValue)", at: at))
    }
  }

  private mutating func warnIgnored(_ t: SpecSectionValues?, optimizer: OptimizerKind) {
    let unused: [String] =
      switch optimizer {
      case .sgd: ["momentum", "beta1", "beta2", "epsilon", "alpha", "centered"]
      case .momentum, .nesterov: ["beta1", "beta2", "epsilon", "alpha", "centered"]
      case .adam, .adamw: ["momentum", "alpha", "centered"]
      case .rmsprop: ["beta1", "beta2"]
      }
    for key in unused {
      guard let found = t?.values[key] else { continue }
      report(
        Diagnostic(
          .ignoredSetting, "'\(found.path)' has no effect with optimizer '\(optimizer.rawValue)'",
          at: found.location))
    }
  }
}

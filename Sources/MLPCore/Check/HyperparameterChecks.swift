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
  /// `clip_norm` and `clip_value`, when set.
  public var clipNorm: Double?
  public var clipValue: Double?
  public var seed: UInt64 = 0
  public var shuffle = true
  /// `training.checkpoint`: write a checkpoint every so many epochs, keep the latest few.
  public var checkpoint: CheckpointSchedule?
  public var earlyStopping: EarlyStopping?

  public init() {}

  /// The update's hyperparameters in the kernels' precision.
  public var updateRule: UpdateRule {
    UpdateRule(
      learningRate: Float(learningRate), weightDecay: Float(weightDecay),
      momentum: Float(momentum), beta1: Float(beta1), beta2: Float(beta2),
      epsilon: Float(epsilon), clipNorm: clipNorm.map(Float.init),
      clipValue: clipValue.map(Float.init))
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
    config.momentum = value(.momentum, in: t)
    config.beta1 = value(.beta1, in: t)
    config.beta2 = value(.beta2, in: t)
    config.epsilon = value(.epsilon, in: t)
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
    return config
  }

  /// The monitored metric must exist: its split in the data, its kind for the task.
  mutating func checkMonitor(_ config: TrainingConfig, task: Task?, data: PreparedData?) {
    guard let stopping = config.earlyStopping, let e = spec.earlyStopping, let task,
      let data
    else { return }
    let at = e[.monitor]?.location ?? e.location
    let metric = stopping.monitor
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
          .monitorsTestSet, "early stopping on '\(name)' tunes training to the test set", at: at,
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
    let unused: [SpecKey<Double>] =
      switch optimizer {
      case .sgd: [.momentum, .beta1, .beta2, .epsilon]
      case .momentum, .nesterov: [.beta1, .beta2, .epsilon]
      case .adam, .adamw: [.momentum]
      }
    for key in unused {
      guard let found = t?[key] else { continue }
      report(
        Diagnostic(
          .ignoredSetting, "'\(found.path)' has no effect with optimizer '\(optimizer.rawValue)'",
          at: found.location))
    }
  }
}

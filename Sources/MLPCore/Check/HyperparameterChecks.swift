// Rules for the `training:` section: ranges of epochs, batch size, learning rate and optimizer
// settings, with defaults applied to whatever the spec leaves out.

// A training key is declared in SpecKeys.swift, held in `TrainingConfig` and read in
// `checkTraining` here, and shown in docs/spec.md: three files.

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
    if metric.split == .validation, data.validation == nil {
      report(
        Diagnostic(
          .conflict, "'\(name)' needs a validation split", at: at,
          help: "set 'data.validation_split', e.g. 0.2"))
    } else if metric.split == .test, data.test == nil {
      report(Diagnostic(.conflict, "'\(name)' needs 'data.test'", at: at))
    } else if metric.split == .test {
      report(
        Diagnostic(
          .monitorsTestSet, "watching '\(name)' tunes training to the test set", at: at,
          help: "monitor a validation metric and keep the test set for the final estimate"))
    }
    if !metric.metric.applies(to: task) {
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

// Rules for the `training:` section: ranges of epochs, batch size, learning rate and optimizer
// settings, with defaults applied to whatever the spec leaves out.

// A training key is declared in SpecKeys.swift, bound to its field in TrainingConfig.swift (with
// the variants it applies to) and read by its consumer; the loops here need no change.

extension CheckContext {
  /// The training configuration with defaults, reporting out-of-range values and settings that
  /// have no effect with the chosen variant.
  mutating func checkTraining() -> TrainingConfig {
    var config = TrainingConfig()
    apply(TrainingConfig.bindings, from: spec.training, to: &config)
    if let c = spec.checkpoint {
      var checkpoint = CheckpointSchedule()
      apply(CheckpointSchedule.bindings, from: c, to: &checkpoint)
      config.checkpoint = checkpoint
    }
    if let e = spec.earlyStopping {
      var stopping = EarlyStopping()
      apply(EarlyStopping.bindings, from: e, to: &stopping)
      config.earlyStopping = stopping
    }
    if let s = spec.schedule { apply(ScheduleConfig.bindings, from: s, to: &config.schedule) }
    config.schedule.cosineEpochs = max(1, config.epochs - config.schedule.warmupEpochs)
    config.labelSmoothing = spec.top[.loss]?.value.labelSmoothing?.value ?? 0
    warnIgnored(TrainingConfig.bindings, in: spec.training, under: config)
    warnIgnored(ScheduleConfig.bindings, in: spec.schedule, under: config)
    checkDecay(config)
    if config.schedule.warmupEpochs >= config.epochs,
      let found = spec.schedule?.values["warmup_epochs"]
    {
      report(
        Diagnostic(
          .ignoredSetting,
          "warm-up of \(config.schedule.warmupEpochs) epochs takes all \(config.epochs) epochs: the schedule never starts",
          at: found.location))
    }
    return config
  }

  /// A decaying schedule's floor must not lie above the rate it decays from: cosine would raise
  /// the rate, and plateau would raise it at its first reduction.
  private mutating func checkDecay(_ config: TrainingConfig) {
    let s = config.schedule
    guard s.kind == .cosine || s.kind == .plateau, s.minLearningRate > config.learningRate,
      let found = spec.schedule?.values["min_learning_rate"]
    else { return }
    report(
      Diagnostic(
        .conflict,
        "'\(found.path)' (\(s.minLearningRate)) is above 'training.learning_rate' (\(config.learningRate)): the '\(s.kind.rawValue)' schedule would raise the rate",
        at: found.location, help: "set 'min_learning_rate' below 'learning_rate'"))
  }

  /// Sets every bound field from its checked value in `section`, or its default.
  private mutating func apply<Root>(
    _ bindings: [KeyBinding<Root>], from section: SpecSectionValues?, to root: inout Root
  ) {
    for binding in bindings {
      binding.assign(&root, checked(binding.info, in: section))
    }
  }

  /// Warns of each key written that has no effect with the configuration's variant.
  private mutating func warnIgnored<Root>(
    _ bindings: [KeyBinding<Root>], in section: SpecSectionValues?, under config: TrainingConfig
  ) {
    for binding in bindings {
      guard let found = section?.values[binding.info.name],
        let variant = binding.variants.ignored(under: config, name: binding.info.name)
      else { continue }
      report(
        Diagnostic(
          .ignoredSetting, "'\(found.path)' has no effect with \(variant)", at: found.location))
    }
  }

  /// The monitored metrics (early stopping's, the plateau schedule's) must exist: their split
  /// in the data, their kind for the task.
  mutating func checkMonitor(_ config: TrainingConfig, task: Task?, data: PreparedData?) {
    if let stopping = config.earlyStopping, let e = spec.earlyStopping {
      checkMonitor(
        stopping.monitor, at: e[.monitor]?.location ?? e.location, task: task, data: data)
      if stopping.refit { checkRefit(config, e) }
    }
    if config.schedule.kind == .plateau, let s = spec.schedule {
      checkMonitor(
        config.schedule.monitor, at: s[.scheduleMonitor]?.location ?? s.location, task: task,
        data: data)
    }
  }

  /// `refit` gives the validation rows back to training once early stopping has chosen the
  /// epochs: it needs a validation metric to choose them by, and nothing of the second training
  /// may watch the validation rows.
  private mutating func checkRefit(_ config: TrainingConfig, _ e: SpecSectionValues) {
    let at = e.values["refit"]?.location ?? e.location
    let monitor = config.earlyStopping?.monitor ?? .validationLoss
    if monitor.split != .validation {
      report(
        Diagnostic(
          .conflict,
          "'refit' trains again for the epochs early stopping chose on the validation rows, but it watches '\(monitor.rawValue)'",
          at: at, help: "monitor a validation metric, e.g. 'monitor: validation_loss'"))
    }
    if config.schedule.kind == .plateau, config.schedule.monitor.split == .validation {
      report(
        Diagnostic(
          .conflict,
          "'refit' trains without validation rows, which the 'plateau' schedule watches ('\(config.schedule.monitor.rawValue)')",
          at: at, help: "use another schedule, or let the plateau schedule watch 'train_loss'"))
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
}

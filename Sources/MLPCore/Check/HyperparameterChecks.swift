// Rules for the `training:` section: ranges of epochs, batch size, learning rate and optimizer
// settings, with defaults applied to whatever the spec leaves out.

extension CheckContext {
  /// The training configuration with defaults, reporting out-of-range values.
  mutating func checkTraining() -> TrainingConfig {
    let t = spec.training
    var config = TrainingConfig()
    config.epochs = atLeastOne(t.epochs, "training.epochs", limit: 10_000_000) ?? config.epochs
    config.batchSize =
      atLeastOne(t.batchSize, "training.batch_size", limit: 1 << 24) ?? config.batchSize
    if let rate = t.learningRate {
      if rate.value.isFinite, rate.value > 0 {
        config.learningRate = rate.value
      } else {
        outOfRange(
          rate, "training.learning_rate", "a finite number greater than 0", help: "try 0.01")
      }
    }
    config.optimizer = t.optimizer?.value ?? .sgd
    config.momentum = fraction(t.momentum, "training.momentum") ?? config.momentum
    config.beta1 = fraction(t.beta1, "training.beta1") ?? config.beta1
    config.beta2 = fraction(t.beta2, "training.beta2") ?? config.beta2
    if let epsilon = t.epsilon {
      if epsilon.value.isFinite, epsilon.value > 0 {
        config.epsilon = epsilon.value
      } else {
        outOfRange(epsilon, "training.epsilon", "a finite number greater than 0")
      }
    }
    if let decay = t.weightDecay {
      if decay.value.isFinite, decay.value >= 0 {
        config.weightDecay = decay.value
      } else {
        outOfRange(decay, "training.weight_decay", "a finite number of at least 0")
      }
    }
    if let seed = t.seed {
      if seed.value >= 0 {
        config.seed = UInt64(seed.value)
      } else {
        outOfRange(seed, "training.seed", "at least 0")
      }
    }
    config.shuffle = t.shuffle?.value ?? true
    warnIgnored(t, optimizer: config.optimizer)
    return config
  }

  private mutating func warnIgnored(_ t: TrainingSpec, optimizer: OptimizerKind) {
    let unused: [(String, SourceLocation?)] =
      switch optimizer {
      case .sgd:
        [
          ("momentum", t.momentum?.location), ("beta1", t.beta1?.location),
          ("beta2", t.beta2?.location), ("epsilon", t.epsilon?.location),
        ]
      case .momentum:
        [
          ("beta1", t.beta1?.location), ("beta2", t.beta2?.location),
          ("epsilon", t.epsilon?.location),
        ]
      case .adam: [("momentum", t.momentum?.location)]
      }
    for case (let key, let location?) in unused {
      report(
        .warning(
          .ignoredSetting, "'training.\(key)' has no effect with optimizer '\(optimizer.rawValue)'",
          at: location))
    }
  }

  private mutating func atLeastOne(_ value: Located<Int>?, _ path: String, limit: Int) -> Int? {
    guard let value else { return nil }
    guard value.value >= 1, value.value <= limit else {
      outOfRange(value, path, "between 1 and \(limit)")
      return nil
    }
    return value.value
  }

  private mutating func fraction(_ value: Located<Double>?, _ path: String) -> Double? {
    guard let value else { return nil }
    guard value.value >= 0, value.value < 1 else {
      outOfRange(value, path, "at least 0 and less than 1")
      return nil
    }
    return value.value
  }

  mutating func outOfRange<T>(
    _ value: Located<T>, _ path: String, _ range: String, help: String? = nil
  ) {
    report(
      .error(
        .hyperparameter, "'\(path)' must be \(range), found \(value.value)", at: value.location,
        help: help))
  }
}

// Rules for the `training:` section: ranges of epochs, batch size, learning rate and optimizer
// settings, with defaults applied to whatever the spec leaves out.

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
    config.seed = UInt64(value(.seed, in: t))
    config.shuffle = value(.shuffle, in: t)
    warnIgnored(t, optimizer: config.optimizer)
    return config
  }

  private mutating func warnIgnored(_ t: SpecSectionValues?, optimizer: OptimizerKind) {
    let unused: [SpecKey<Double>] =
      switch optimizer {
      case .sgd: [.momentum, .beta1, .beta2, .epsilon]
      case .momentum: [.beta1, .beta2, .epsilon]
      case .adam: [.momentum]
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

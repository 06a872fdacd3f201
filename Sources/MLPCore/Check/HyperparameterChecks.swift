// Rules for the `training:` section: ranges of epochs, batch size, learning rate and optimizer
// settings, with defaults applied to whatever the spec leaves out.

// A training key is declared in SpecKeys.swift, held in `TrainingConfig` and read in
// `checkTraining` here, and shown in docs/spec.md: three files.

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
  public var seed: UInt64 = 0
  public var shuffle = true

  public init() {}

  /// The update's hyperparameters in the kernels' precision.
  public var updateRule: UpdateRule {
    UpdateRule(
      learningRate: Float(learningRate), weightDecay: Float(weightDecay),
      momentum: Float(momentum), beta1: Float(beta1), beta2: Float(beta2),
      epsilon: Float(epsilon))
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

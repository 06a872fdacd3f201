// The learning rate of each epoch, as PyTorch's `torch.optim.lr_scheduler` gives it when
// `scheduler.step()` is called once after every epoch: epoch e (1-based) trains at the rate of
// scheduler epoch e − 1. Warm-up is `SequentialLR([LinearLR(start_factor, total_iters: w),
// main], milestones: [w])`: the main schedule starts from its epoch 0 after w epochs. The closed
// forms are those of the schedulers' `_get_closed_form_lr`; `plateau` is `ReduceLROnPlateau`
// (relative threshold), whose state is saved in checkpoints.

import Foundation

/// Computes and tracks the learning rate epoch by epoch.
public struct LearningRateScheduler: Sendable, Equatable {
  public let config: ScheduleConfig
  public let base: Double
  /// `plateau`: the current rate and the record it is reduced from.
  public private(set) var plateau: PlateauState

  /// What `ReduceLROnPlateau` remembers between epochs.
  public struct PlateauState: Sendable, Equatable, Codable {
    public var rate: Double
    /// The best value so far (nil before the first: PyTorch's ±∞, which JSON cannot hold).
    public var best: Double?
    public var badEpochs = 0
    public var cooldownLeft = 0
  }

  public init(_ config: ScheduleConfig, base: Double) {
    (self.config, self.base) = (config, base)
    plateau = PlateauState(rate: base, best: nil)
  }

  /// The rate that epoch `epoch` (1-based) trains with.
  public func rate(epoch: Int) -> Double {
    let e = epoch - 1
    let w = config.warmupEpochs
    if e < w {
      let s = config.warmupStartFactor
      return base * (s + (1 - s) * Double(e) / Double(w))
    }
    let i = Double(e - w)
    switch config.kind {
    case .constant: return base
    case .step: return base * pow(config.gamma, Double((e - w) / config.stepSize))
    case .exponential: return base * pow(config.gamma, i)
    case .cosine:
      let low = config.minLearningRate
      return low + (base - low) * (1 + cos(Double.pi * i / Double(config.cosineEpochs))) / 2
    case .plateau: return plateau.rate
    }
  }

  /// After epoch `report.epoch`: `plateau` watches its metric (once warm-up is over).
  public mutating func observe(_ report: EpochReport) {
    guard config.kind == .plateau, report.epoch > config.warmupEpochs,
      let value = config.monitor.value(in: report)
    else { return }
    let best = plateau.best ?? (config.maximize ? -Double.infinity : .infinity)
    let better =
      config.maximize
      ? value > best * (1 + config.threshold) : value < best * (1 - config.threshold)
    if better {
      plateau.best = value
      plateau.badEpochs = 0
    } else {
      plateau.badEpochs += 1
    }
    if plateau.cooldownLeft > 0 {
      plateau.cooldownLeft -= 1
      plateau.badEpochs = 0
    }
    if plateau.badEpochs > config.patience {
      let reduced = max(plateau.rate * config.factor, config.minLearningRate)
      if plateau.rate - reduced > 1e-8 { plateau.rate = reduced }
      plateau.cooldownLeft = config.cooldown
      plateau.badEpochs = 0
    }
  }

  /// Puts back a checkpoint's plateau record.
  public mutating func restore(_ state: PlateauState) { plateau = state }
}

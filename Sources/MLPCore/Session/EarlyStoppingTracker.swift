// Early stopping (Keras's EarlyStopping, Lightning's callback): after every epoch the monitored
// metric is compared with the best so far; an improvement by more than `min_delta` makes it the
// new best (and, with `restore_best`, keeps its weights), and `patience` epochs without one stop
// training.

/// The early-stopping record of one run.
public struct EarlyStoppingTracker: Sendable {
  public let rule: EarlyStopping
  public private(set) var bestEpoch: Int?
  public private(set) var bestValue: Double?
  /// The best epoch's weights and optimizer state, when `restore_best` asks for them.
  public private(set) var best: Executor.Snapshot?

  public init(_ rule: EarlyStopping) { self.rule = rule }

  /// The record kept in `checkpoint`.
  public init(_ rule: EarlyStopping, resuming checkpoint: Checkpoint) {
    self.rule = rule
    (bestEpoch, bestValue, best) = (checkpoint.bestEpoch, checkpoint.bestValue, checkpoint.best)
  }

  /// The epoch patience counts from when no better one came since (0: the start).
  private var patienceFrom = 0

  /// Records epoch `report`; true when training should stop. A metric that is not finite never
  /// improves.
  public mutating func observe(_ report: EpochReport, executor: Executor) -> Bool {
    let value = rule.monitor.value(in: report)
    if let value, value.isFinite, isImprovement(value) {
      (bestEpoch, bestValue) = (report.epoch, value)
      if rule.restoreBest { best = executor.snapshot() }
    }
    return wouldStop(after: report.epoch)
  }

  /// Whether `patience` epochs without improvement have passed after `epoch`.
  public func wouldStop(after epoch: Int) -> Bool {
    epoch - max(bestEpoch ?? 0, patienceFrom) >= rule.patience
  }

  /// Counts patience from `epoch` on (a stopped run continued), keeping the best so far.
  public mutating func countPatience(from epoch: Int) { patienceFrom = epoch }

  private func isImprovement(_ value: Double) -> Bool {
    guard let bestValue else { return true }
    return rule.maximize ? value > bestValue + rule.minDelta : value < bestValue - rule.minDelta
  }

  /// Writes the record into `checkpoint`.
  public func save(into checkpoint: inout Checkpoint) {
    (checkpoint.bestEpoch, checkpoint.bestValue, checkpoint.best) = (bestEpoch, bestValue, best)
  }
}

extension MonitoredMetric {
  /// The metric's value in an epoch's report, if the report has it.
  public func value(in report: EpochReport) -> Double? {
    report.value(metric, on: split)
  }
}

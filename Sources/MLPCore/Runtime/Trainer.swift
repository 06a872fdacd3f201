// Epochs over mini-batches: a seeded shuffle per epoch, one executor step per batch (the last
// batch may be partial: every sample is seen exactly once per epoch), and evaluation on the
// validation and test splits after each epoch.

import Foundation

/// Why training ended before its last epoch.
public enum TrainingStop: Error, Equatable, Sendable {
  /// The loss, or a parameter after the update, became NaN or infinite at this (1-based) epoch
  /// and step (`executor.firstNonFiniteTensor()` names the parameter).
  case nonFinite(epoch: Int, step: Int)
  /// The user asked to stop (Ctrl-C); finished epochs and steps are kept.
  case interrupted(epoch: Int, step: Int)
  /// A collective call between the ranks failed (see `World`).
  case communication(String)
}

/// Trains a plan on a data set: the plan says how to compute a step, the training settings how
/// to order the samples, and the data set is handed in beside them.
public final class Trainer {
  public let executor: Executor
  public let train: Dataset
  public let settings: TrainingConfig
  public var plan: ExecutionPlan { executor.plan }
  /// Regression: how the targets were scaled; metrics are reported in the target's own units.
  public var targetScaler: TargetScaler?
  private var shuffler: SeededGenerator
  private var order: [Int]
  /// Epochs whose shuffle has been drawn.
  private var shuffled = 0
  /// Where training stopped inside an epoch: steps done and their summed loss, so that
  /// `runEpoch` of that epoch continues exactly there.
  public private(set) var partial: (epoch: Int, steps: Int, loss: Double)?
  /// The learning rate of each epoch.
  public private(set) var scheduler: LearningRateScheduler
  /// The rate the steps of the current epoch pass to the update (the spec's before the first).
  public private(set) var learningRate: Float

  /// The processes training together; each step's global batch is split among them.
  public let world: World
  /// A distributed step's summed loss and stop flag, reduced over the ranks (allocated once).
  private var stepSums = [0.0, 0.0]

  public init(
    plan: ExecutionPlan, train: Dataset, settings: TrainingConfig, world: World = .shared
  ) {
    precondition(plan.isTraining)
    self.world = world
    executor = Executor(plan: plan, seed: settings.seed)
    learningRate = Float(settings.learningRate)
    self.train = train
    self.settings = settings
    shuffler = SeededGenerator(seed: settings.seed &+ 0x5F1F_F1E5)
    order = Array(0..<train.count)
    scheduler = LearningRateScheduler(settings.schedule, base: settings.learningRate)
  }

  /// A trainer for a checked spec's plan and training split.
  public convenience init(_ spec: CheckedSpec, plan: ExecutionPlan? = nil) {
    self.init(
      plan: plan ?? PlanCompiler.compile(spec), train: spec.data.train, settings: spec.training)
    targetScaler = spec.data.targetScaler
  }

  /// Steps of one epoch.
  public var stepsPerEpoch: Int { plan.steps(samples: train.count) }

  /// Runs one epoch (1-based `epoch`), or the rest of it after an interruption inside it;
  /// returns the mean training loss per sample. `progress` is called after each step with the
  /// number of steps done; `shouldStop` is asked after each step but the last.
  public func runEpoch(
    _ epoch: Int, shouldStop: () -> Bool = { false }, progress: (Int) -> Void = { _ in }
  ) throws(TrainingStop) -> Double {
    let resumed = partial?.epoch == epoch ? partial : nil
    partial = nil
    drawShuffles(through: epoch)
    learningRate = Float(scheduler.rate(epoch: epoch))
    var total = resumed?.loss ?? 0
    var step = resumed?.steps ?? 0
    var start = step * plan.batchSize
    while start < order.count {
      let end = min(start + plan.batchSize, order.count)
      let loss: Double
      // With several ranks the stop request travels with the step's sums, so all agree on it.
      var agreedStop: Bool?
      if world.size == 1 {
        let rows = executor.loadBatch(train, order[start..<end])
        loss = executor.trainStep(rows: rows, learningRate: learningRate) * Double(rows)
      } else {
        let asking = end < order.count && shouldStop()
        (loss, agreedStop) = try distributedStep(start..<end, asking: asking)
      }
      step += 1
      guard loss.isFinite else { throw .nonFinite(epoch: epoch, step: step) }
      total += loss
      start = end
      progress(step)
      if agreedStop ?? (start < order.count && shouldStop()) {
        partial = (epoch, step, total)
        throw .interrupted(epoch: epoch, step: step)
      }
    }
    return total / Double(order.count)
  }

  /// One step of the global batch `batch` (positions in the epoch's order) across the world:
  /// this rank's share of the rows, its gradient weighted by its share of the batch, one sum of
  /// the gradients over all ranks, then the same update on every rank. Returns the batch's
  /// summed loss (NaN when a parameter is not finite) and whether any rank asked to stop.
  private func distributedStep(_ batch: Range<Int>, asking stop: Bool) throws(TrainingStop)
    -> (loss: Double, stop: Bool)
  {
    let share = world.share(of: batch)
    stepSums[0] = 0
    stepSums[1] = stop ? 1 : 0
    if share.isEmpty {
      executor.zeroGradients()
    } else {
      let rows = executor.loadBatch(train, order[share])
      executor.firstRow = share.lowerBound - batch.lowerBound
      stepSums[0] = executor.computeGradients(rows: rows)
      executor.scaleGradients(Float(Double(rows) / Double(batch.count)))
    }
    do {
      let g = executor.gradientRegion
      try world.sum(g.baseAddress!, count: g.count)
      try world.sum(&stepSums)
    } catch { throw .communication(error.description) }
    return (executor.update(learningRate: learningRate) ? stepSums[0] : .nan, stepSums[1] > 0)
  }

  /// One epoch as `mlpc run` runs it: training, then the validation and test passes, timed
  /// from start to end (`mlpc bench --epochs` times this same function).
  public func reportedEpoch(
    _ epoch: Int, validation: Dataset?, test: Dataset?, shouldStop: () -> Bool = { false },
    progress: (Int) -> Void = { _ in }
  ) throws(TrainingStop) -> EpochReport {
    let start = Date()
    let loss = try runEpoch(epoch, shouldStop: shouldStop, progress: progress)
    // With several ranks each evaluates its share of the rows and the sums are reduced.
    let sharded = world.size > 1
    let validation = try validation.map { d throws(TrainingStop) in
      try evaluate(d, sharded: sharded)
    }
    let test = try test.map { d throws(TrainingStop) in try evaluate(d, sharded: sharded) }
    let report = EpochReport(
      epoch: epoch, trainLoss: loss, validation: validation, test: test,
      seconds: Date().timeIntervalSince(start), steps: stepsPerEpoch,
      learningRate: scheduler.rate(epoch: epoch))
    scheduler.observe(report)
    return report
  }

  /// Draws the epoch shuffles not drawn yet, up to epoch `epoch`'s.
  private func drawShuffles(through epoch: Int) {
    while shuffled < epoch {
      if settings.shuffle { shuffler.shuffle(&order) }
      shuffled += 1
    }
  }

  /// Training state to save: weights and optimizer state, and where in which epoch it stands
  /// (the shuffles are a pure function of the seed and the epoch, so they are replayed, not saved).
  public func checkpoint(nextEpoch: Int) -> Checkpoint {
    let inside = partial.flatMap { $0.epoch == nextEpoch ? $0 : nil }
    var c = Checkpoint(
      epoch: nextEpoch, steps: inside?.steps ?? 0, epochLoss: inside?.loss ?? 0,
      state: executor.snapshot())
    if settings.schedule.kind == .plateau { c.plateau = scheduler.plateau }
    return c
  }

  /// Continues from `checkpoint`: the next `runEpoch(checkpoint.epoch)` picks up where it stopped.
  /// What makes `checkpoint` unusable for this trainer (another network, a state of the wrong
  /// size, positions out of range, values that are not finite), or nil: asked before `restore`,
  /// which assumes a checkpoint that fits.
  public func problem(with checkpoint: Checkpoint) -> String? {
    let floats = plan.parameters.count * (1 + plan.optimizerState.count)
    for (name, snapshot) in [("state", checkpoint.state), ("best state", checkpoint.best)] {
      guard let snapshot else { continue }
      if snapshot.values.count != floats {
        return
          "holds a \(name) of \(snapshot.values.count) values where this network has \(floats): it was written for another network or spec"
      }
      if !(0...(1 << 53)).contains(snapshot.step) {
        return "holds an optimizer step of \(snapshot.step)"
      }
      if snapshot.values.contains(where: { !$0.isFinite }) {
        return "holds a \(name) that is not finite"
      }
    }
    if !(1...10_000_001).contains(checkpoint.epoch) {
      return "is at epoch \(checkpoint.epoch)"
    }
    if !(0..<stepsPerEpoch).contains(checkpoint.steps) {
      return "is at step \(checkpoint.steps) of an epoch of \(stepsPerEpoch) steps"
    }
    if !checkpoint.epochLoss.isFinite {
      return "holds a loss that is not finite"
    }
    if let best = checkpoint.bestEpoch, !(1..<checkpoint.epoch).contains(best) {
      return "names best epoch \(best) at epoch \(checkpoint.epoch)"
    }
    return nil
  }

  public func restore(_ checkpoint: Checkpoint) {
    executor.restore(checkpoint.state)
    scheduler = LearningRateScheduler(settings.schedule, base: settings.learningRate)
    if let state = checkpoint.plateau { scheduler.restore(state) }
    shuffler = SeededGenerator(seed: settings.seed &+ 0x5F1F_F1E5)
    order = Array(0..<train.count)
    shuffled = 0
    if checkpoint.steps > 0 {
      drawShuffles(through: checkpoint.epoch)
      partial = (checkpoint.epoch, checkpoint.steps, checkpoint.epochLoss)
    } else {
      drawShuffles(through: checkpoint.epoch - 1)
      partial = nil
    }
  }

  /// Loss and task metrics of the current parameters on `data` (forward passes only).
  public func evaluate(_ data: Dataset) -> Evaluation {
    // A world of one: no collective call, nothing to throw.
    (try? evaluate(data, sharded: false)) ?? Evaluation(loss: .nan)
  }

  /// `evaluate`, with `sharded` over this rank's share of the rows, the sums reduced over all
  /// ranks (every rank must call it then). With `training.ema`, the averaged weights are
  /// evaluated, as the model will hold them.
  public func evaluate(_ data: Dataset, sharded: Bool) throws(TrainingStop) -> Evaluation {
    try executor.withAveragedParameters { () throws(TrainingStop) -> Evaluation in
      try evaluateCurrent(data, sharded: sharded)
    }
  }

  private func evaluateCurrent(_ data: Dataset, sharded: Bool) throws(TrainingStop) -> Evaluation {
    let outputs = data.outputs
    var loss = 0.0
    var correct = 0
    var squared = [Double](repeating: 0, count: outputs)
    var absolute = 0.0
    let rows = sharded ? world.share(of: 0..<data.count) : 0..<data.count
    var start = rows.lowerBound
    while start < rows.upperBound {
      let end = min(start + plan.batchSize, rows.upperBound)
      let rows = executor.loadBatch(data, start..<end)
      executor.forward(rows: rows)
      loss += executor.loss(rows: rows)
      let out = executor.pointer(plan.output)
      for r in 0..<rows {
        let sample = start + r
        if let labels = data.labels {
          correct += predictedClass(out + r * outputs, outputs) == labels[sample] ? 1 : 0
        } else {
          // In the target's own units.
          for c in 0..<outputs {
            let diff = original(Double(out[r * outputs + c]), c) - target(data, sample, c)
            squared[c] += diff * diff
            absolute += abs(diff)
          }
        }
      }
      start = end
    }
    if sharded {
      var sums = [loss, Double(correct), absolute] + squared
      do { try world.sum(&sums) } catch { throw .communication(error.description) }
      (loss, correct, absolute) = (sums[0], Int(sums[1]), sums[2])
      squared = Array(sums[3...])
    }
    let n = Double(max(data.count, 1))
    var result = Evaluation(loss: loss / n)
    if data.labels != nil {
      result.accuracy = Double(correct) / n
    } else {
      result.mse = squared.reduce(0, +) / (n * Double(outputs))
      result.mae = absolute / (n * Double(outputs))
      result.r2 = r2(squared, data)
    }
    return result
  }

  private func predictedClass(_ p: UnsafeMutablePointer<Float>, _ outputs: Int) -> Int {
    if outputs == 1 { return p[0] >= 0.5 ? 1 : 0 }
    var best = 0
    for c in 1..<outputs where p[c] > p[best] { best = c }
    return best
  }

  /// R² = 1 − SS_res/SS_tot per output, averaged (scikit-learn's `r2_score`).
  /// A network output in the target's own units.
  private func original(_ x: Double, _ c: Int) -> Double {
    targetScaler?.inverse(x, c) ?? x
  }

  /// Target `c` of `sample` in its own units.
  private func target(_ data: Dataset, _ sample: Int, _ c: Int) -> Double {
    original(Double(data.targets[sample * data.outputs + c]), c)
  }

  private func r2(_ residual: [Double], _ data: Dataset) -> Double {
    let outputs = data.outputs
    var sum = 0.0
    for c in 0..<outputs {
      var mean = 0.0
      for i in 0..<data.count { mean += target(data, i, c) }
      mean /= Double(data.count)
      var total = 0.0
      for i in 0..<data.count {
        let d = target(data, i, c) - mean
        total += d * d
      }
      sum += total > 0 ? 1 - residual[c] / total : 0
    }
    return sum / Double(outputs)
  }
}

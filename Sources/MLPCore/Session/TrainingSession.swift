// One run of a checked spec, new or resumed: the epoch loop with its stops (end, early stopping,
// a stop request, divergence), checkpoints, agreement between MPI ranks, and the files written
// when it ends. The metrics in the summary are always those of the weights that were saved (with
// `early_stopping.refit`, but for the validation rows it trained on: those are the best epoch's of
// the first training, which chose the epochs).
// Printing, signals and exit codes are the caller's: it hears of progress through
// `SessionEvents` and gets a typed `RunOutcome` back.
//
//     let session = try TrainingSession(spec, specPath: path,
//                                       directory: RunDirectory("runs/a", existing: .refuse))
//     let outcome = try session.train()
//     print(outcome.summary.value(.accuracy, on: .test) ?? .nan)

import Foundation

/// What a session tells its caller while it trains.
public struct SessionEvents {
  /// After each step: the epoch and the steps done in it.
  public var step: (_ epoch: Int, _ step: Int) -> Void = { _, _ in }
  /// After each finished epoch.
  public var epoch: (EpochReport) -> Void = { _ in }
  /// Asked after each step: whether to stop (and save) now.
  public var shouldStop: () -> Bool = { false }
  /// Called once training has stopped, before the run is written.
  public var saving: () -> Void = {}
  /// With `early_stopping.refit`, when the second training begins: its epochs, rows and steps
  /// per epoch.
  public var refitting: (_ epochs: Int, _ rows: Int, _ steps: Int) -> Void = { _, _, _ in }

  public init() {}
}

/// How a run ended and what it wrote.
public struct RunOutcome: Sendable {
  public var ending: Ending
  public var summary: RunSummary
  /// The run directory (nil on MPI ranks other than 0, which write nothing).
  public var directory: String?
  /// The files written into it besides checkpoints and spec (none when the run diverged).
  public var files: [String]
}

/// With MPI, every rank runs a session: all train, rank 0 alone writes the run directory
/// (`directory` is nil on the others), and every decision to stop is agreed.
public final class TrainingSession {
  public let spec: CheckedSpec
  public let specPath: String
  let directory: RunDirectory?
  let writer: RunWriter?
  let world = World.shared
  /// The trainer of the first training, then (with `early_stopping.refit`) of the second.
  public private(set) var trainer: Trainer
  /// Epochs of the run in all (with `early_stopping.refit`, once the second training has begun,
  /// the first's epochs and the second's).
  public private(set) var total: Int
  /// The first epoch to run (1, or the checkpoint's epoch when resuming).
  public let first: Int
  var tracker: EarlyStoppingTracker?
  /// Memory kept for saving, released just before the run is written.
  let reserve: SaveReserve
  /// The epochs before `first` (a resumed run's), and this session's reports: the learning
  /// curves are drawn from these, not by reading metrics.jsonl again.
  var earlier: [EpochReport] = []
  /// (Every other one is dropped when 2000 are kept, so they stay spread over all epochs.)
  var reports: [EpochReport] = []
  /// `--set` overrides of the spec, recorded in config.json and applied again on resume.
  public let overrides: [SpecOverride]
  /// On resuming a run that had stopped early: the epoch it stopped at, from which patience
  /// counts again.
  public private(set) var restartedPatience: Int?
  /// Where to track the run in MLflow (set before `train`; rank 0 tracks).
  public var tracking: TrackingOptions?
  /// The MLflow run while training.
  private var mlflow: MLflowTracker?
  /// With `early_stopping.refit`, once the second training has begun: the epochs of the first.
  /// The second's epoch e is the run's epoch `refitAfter + e`.
  public private(set) var refitAfter: Int?
  /// The validation metrics of the first training's best epoch, once the second has begun.
  var selection: Evaluation?
  /// The rows of `early_stopping.refit`'s second training: the training and validation rows.
  private var refitRows: Int { spec.data.train.count + (spec.data.validation?.count ?? 0) }
  /// Whether the first training stopped early (once the second has begun).
  private var firstStoppedEarly = false
  /// The first training's best epoch so far in this session, with its validation metrics.
  private var bestSeen: (epoch: Int, validation: Evaluation?)?

  /// A new run of `spec` into `directory` (nil on ranks other than 0) for `epochs` in all
  /// (default: the spec's).
  public init(
    _ spec: CheckedSpec, specPath: String, directory: RunDirectory?, epochs: Int? = nil,
    overrides: [SpecOverride] = [], initial: (weights: WeightTransfer, from: String)? = nil,
    fold: (index: Int, count: Int)? = nil
  ) throws(SessionError) {
    (self.spec, self.specPath, self.directory) = (spec, specPath, directory)
    self.overrides = overrides
    if initial != nil, spec.training.earlyStopping?.refit == true {
      directory?.abandon()
      throw SessionError(
        "--init-from does not go with 'training.early_stopping.refit': the second training starts from the spec's seed, not from the weights given",
        help: "set 'training.early_stopping.refit: false' to start from trained weights")
    }
    trainer = Trainer(spec)
    initial?.weights.apply(to: trainer.executor)
    total = epochs ?? spec.training.epochs
    first = 1
    tracker = spec.training.earlyStopping.map { EarlyStoppingTracker($0) }
    // A run that cannot start leaves nothing behind.
    do {
      writer = try directory.map { d throws(SessionError) in try RunWriter(d) }
      reserve = try SaveReserve(for: trainer.plan)
      try writer?.write(Data(spec.text.utf8), "spec.yaml")
      try writer?.write(Data(spec.resolvedText.utf8), "spec.resolved.yaml")
      var configuration = RunConfiguration(
        spec, specPath: specPath, epochs: total, overrides: overrides,
        runDirectory: directory?.path)
      configuration.initFrom = initial?.from
      configuration.fold = fold.map { "\($0.index + 1)/\($0.count)" }
      try writer?.write(record: configuration, "config.json")
      if spec.training.tensorboard { try writer?.openEvents(spec, keepingBefore: nil) }
    } catch {
      directory?.abandon()
      throw error
    }
  }

  /// The run in `directory` (nil on ranks other than 0), continued from its latest checkpoint
  /// to `epochs` in all (default: as configured). Rank 0 reads the run; the other ranks receive
  /// its configuration, spec and checkpoint from it. `check` checks the recorded spec with its
  /// overrides (and reports its diagnostics); nil ends the resume.
  public init(
    resuming directory: RunDirectory?, runPath: String, epochs: Int?, changes: [String] = [],
    check: (
      _ text: String, _ file: String, _ overrides: [SpecOverride],
      _ fold: (index: Int, count: Int)?
    ) -> CheckedSpec?
  ) throws(SessionError) {
    let world = World.shared
    self.directory = directory
    let path = directory?.path ?? "the run"
    func fail(_ error: SessionError) -> SessionError {
      directory?.abandon()
      return error
    }
    // A run's files are read as regular files of the run, never through a link out of it.
    let read = { (name: String) in
      directory.flatMap {
        try? RegularFile.contents($0.file(name), followingLinks: false, limit: 1 << 26).get()
      }
    }
    let configData = try collective { try world.broadcast(read("config.json")) }
    let specData = try collective { try world.broadcast(read("spec.yaml")) }
    guard let configData, let specData,
      var config = JSONRecord.decode(RunConfiguration.self, from: configData)
    else {
      throw fail(SessionError("'\(path)' is not a run directory of this mlpc (no config.json)"))
    }
    let text = String(decoding: specData, as: UTF8.self)
    // Safe changes (`ResumeChange`) join the run's overrides and are recorded with them.
    config.overrides += changes
    overrides = SpecOverride.list(config.overrides)
    let fold = config.fold.flatMap { text -> (index: Int, count: Int)? in
      let parts = text.split(separator: "/").compactMap { Int($0) }
      return parts.count == 2 && parts[0] >= 1 && parts[0] <= parts[1] && parts[1] >= 2
        ? (parts[0] - 1, parts[1]) : nil
    }
    let specFile = config.specPath(inRun: runPath)
    guard let spec = check(text, specFile, overrides, fold) else {
      throw fail(.checkFailed)
    }
    (self.spec, specPath) = (spec, specFile)
    let checkpointData = directory.flatMap { d in
      RunWriter.checkpoints(in: d.file("checkpoints")).last.flatMap {
        try? RegularFile.contents(
          d.file("checkpoints") + "/" + $0, followingLinks: false, limit: Model.maximumFileBytes
        ).get()
      }
    }
    let received = try collective { try world.broadcast(checkpointData) }
    guard let checkpoint = received.flatMap(Checkpoint.decode) else {
      throw fail(SessionError("'\(path)' has no checkpoint to resume from"))
    }
    total = epochs ?? config.epochs
    var refitted = spec
    if let after = checkpoint.refitAfter {
      // The second training of `early_stopping.refit`: its epochs were chosen by the first.
      guard let refitEpochs = checkpoint.bestEpoch, spec.training.earlyStopping?.refit == true,
        after >= 1, refitEpochs >= 1, refitEpochs <= after, checkpoint.epoch > after
      else {
        throw fail(
          SessionError(
            "'\(path)': its latest checkpoint is of a second training (early_stopping.refit) that this spec does not ask for; the run is left as it was"
          ))
      }
      guard epochs == nil, changes.isEmpty else {
        throw fail(
          SessionError(
            "'\(path)' stopped early after epoch \(after) and is training again on every row for \(refitEpochs) epochs (early_stopping.refit): resume it without --epochs or --set"
          ))
      }
      total = after + refitEpochs
      refitted = spec.refitted(epochs: refitEpochs)
      refitAfter = after
      firstStoppedEarly = after < config.epochs
    }
    // A run whose epochs all finished but whose model could not be written (a full disk) is
    // resumed to write it.
    let saved = directory.map {
      Data([FileManager.default.fileExists(atPath: $0.file("model.safetensors")) ? 1 : 0])
    }
    let unsaved = try collective { try world.broadcast(saved) }?.first == 0
    guard checkpoint.epoch <= total || (checkpoint.epoch == total + 1 && unsaved) else {
      if refitAfter != nil {
        throw fail(
          SessionError(
            "'\(path)' has finished: it stopped early and trained again on every row (early_stopping.refit); start a new run, or one from its weights with --init-from"
          ))
      }
      throw fail(
        SessionError(
          "'\(path)' has trained \(checkpoint.epoch - 1) epochs; give --epochs above that to continue"
        ))
    }
    // Everything is checked before the run directory is touched.
    trainer = Trainer(refitted)
    // The trainer counts the second training's epochs from 1.
    var local = checkpoint
    if let refitAfter {
      local.epoch -= refitAfter
      (local.bestEpoch, local.bestValue, local.best) = (nil, nil, nil)
    }
    if let problem = trainer.problem(with: local) {
      throw fail(
        SessionError(
          "'\(path)': its latest checkpoint \(problem); the run is left as it was",
          help: "resume the run with the spec it was trained with, or start a new run"))
    }
    writer = try directory.map { d throws(SessionError) in try RunWriter(d) }
    reserve = try SaveReserve(for: trainer.plan)
    trainer.restore(local)
    first = checkpoint.epoch
    tracker = spec.training.earlyStopping.map { EarlyStoppingTracker($0, resuming: checkpoint) }
    // A run that had stopped early counts its patience again from where it stopped, so that
    // more epochs (or more patience) continue it instead of stopping after one.
    if refitAfter == nil, tracker?.wouldStop(after: checkpoint.epoch - 1) == true {
      tracker?.countPatience(from: checkpoint.epoch - 1)
      restartedPatience = checkpoint.epoch - 1
    }
    earlier = try writer?.truncateMetrics(before: checkpoint.epoch) ?? []
    if refitAfter != nil {
      selection = earlier.last { $0.epoch == checkpoint.bestEpoch }?.validation
    }
    if spec.training.tensorboard { try writer?.openEvents(spec, keepingBefore: checkpoint.epoch) }
    // (A second training's length is its first's best epoch: config.json keeps the first's.)
    if refitAfter == nil, !changes.isEmpty || total != config.epochs {
      config.epochs = total
      try writer?.write(record: config, "config.json")
      try writer?.write(Data(spec.resolvedText.utf8), "spec.resolved.yaml")
    }
  }

  /// Trains from `first` to `total` epochs (or until a stop) and writes the run.
  public func train(_ events: SessionEvents = SessionEvents()) throws(SessionError) -> RunOutcome {
    let started = Date()
    var ending = Ending.completed
    var last: EpochReport?
    var nextEpoch = first
    do {
      try startTracking()
      try trainEpochs(events, ending: &ending, last: &last, nextEpoch: &nextEpoch)
      if refitAfter == nil, spec.training.earlyStopping?.refit == true,
        let epochs = tracker?.bestEpoch
      {
        switch ending {
        case .completed, .earlyStopped:
          if case .earlyStopped = ending { firstStoppedEarly = true }
          try beginRefit(after: nextEpoch - 1, epochs: epochs, events)
          ending = .completed
          try trainEpochs(events, ending: &ending, last: &last, nextEpoch: &nextEpoch)
        case .interrupted, .diverged: break
        }
      }
    } catch {
      mlflow?.finish(.failed, directory: nil)
      throw keepingWhatWasWritten(error)
    }
    events.saving()
    reserve.release()
    var summary = RunSummary(
      name: spec.name, spec: specPath, status: ending.status, epochsPlanned: total,
      epochsCompleted: nextEpoch - 1, seconds: Date().timeIntervalSince(started),
      parameters: trainer.plan.parameterCount, trainSamples: spec.data.train.count)
    if let refitAfter {
      summary.refitAfter = refitAfter
      summary.refitSamples = refitRows
    }
    summary.lastEpoch = last
    do {
      let outcome = try finish(ending, summary, nextEpoch: nextEpoch)
      mlflow?.finish(TrackedStatus(ending), directory: outcome.directory)
      return outcome
    } catch {
      mlflow?.finish(.failed, directory: nil)
      throw keepingWhatWasWritten(error)
    }
  }

  /// Creates the run's MLflow run (or continues the one in its mlflow.json) and records it.
  private func startTracking() throws(SessionError) {
    guard let tracking, let writer, let directory else { return }
    let existing =
      (try? RegularFile.contents(
        writer.run.file(MLflowRunRecord.fileName), followingLinks: false, limit: 1 << 16
      ).get()).flatMap { JSONRecord.decode(MLflowRunRecord.self, from: $0) }
    mlflow = MLflowTracker.start(
      tracking, spec: spec, specPath: specPath, name: PathText.lastComponent(directory.path),
      runDirectory: directory.path, existing: existing)
    if let mlflow {
      try writer.write(record: mlflow.record, MLflowRunRecord.fileName)
      // A resumed run's earlier epochs that the MLflow run lacks (a run killed outright may not
      // have sent its last ones; a run tracked for the first time has none).
      for report in earlier { mlflow.log(report) }
      writer.written = { reports in for (r, time) in reports { mlflow.log(r, at: time) } }
    }
  }

  /// After a failed write (a full disk, say): what was written, checkpoints included, is moved
  /// to the run directory where --resume finds it, instead of staying in the hidden staging
  /// directory; without a checkpoint there is nothing to resume and the staging is dropped.
  private func keepingWhatWasWritten(_ error: SessionError) -> SessionError {
    guard let directory, writer != nil else { return error }
    guard RunDirectory.latestCheckpoint(in: directory.staging) != nil else {
      directory.abandon()
      return error
    }
    let shown = safeText(directory.path, limit: 300)
    // If even the move fails, the staging directory stays: --resume finds it there.
    let kept = (try? directory.commit()) != nil ? shown : safeText(directory.staging, limit: 300)
    return SessionError(
      "\(error.description); what was written is kept in '\(kept)': free space, then 'mlpc run --resume \(shown)'"
    )
  }

  /// The epochs from `first`, until the last, a stop or divergence.
  private func trainEpochs(
    _ events: SessionEvents, ending: inout Ending, last: inout EpochReport?, nextEpoch: inout Int
  ) throws(SessionError) {
    // The second training of `early_stopping.refit` counts its epochs from 1 after the first's.
    let offset = refitAfter ?? 0
    let start = nextEpoch
    epochs: for epoch in start...max(start, total) where epoch <= total {
      var report: EpochReport
      do {
        report = try trainer.reportedEpoch(
          epoch - offset, validation: refitAfter == nil ? spec.data.validation : nil,
          test: spec.data.test, shouldStop: events.shouldStop,
          progress: { events.step(epoch, $0) })
        report.epoch = epoch
      } catch {
        switch error {
        case .interrupted(let e, let s): ending = .interrupted(epoch: e + offset, step: s)
        case .nonFinite(let e, let s): ending = .diverged(epoch: e + offset, step: s)
        case .communication(let message): throw SessionError(message)
        }
        break epochs
      }
      nextEpoch = epoch + 1
      try writer?.append(report, now: Date())
      reports.append(report)
      // Bounded memory for any number of epochs: every other report goes when 2000 are kept.
      if reports.count >= 2000 {
        reports = reports.enumerated().filter { $0.0 % 2 == 0 || $0.0 == 1999 }.map(\.1)
      }
      events.epoch(report)
      last = report
      let stop = refitAfter == nil && tracker?.observe(report, executor: trainer.executor) == true
      if refitAfter == nil, tracker?.bestEpoch == epoch { bestSeen = (epoch, report.validation) }
      if stop {
        ending = .earlyStopped(bestEpoch: tracker?.bestEpoch)
        break
      }
      if let schedule = spec.training.checkpoint, epoch % schedule.every == 0, epoch < total {
        try writer?.checkpoint(checkpoint(nextEpoch: nextEpoch), keep: schedule.keep)
      }
      // Every rank stops after the same epoch when any was asked to.
      if try agreed(events.shouldStop()), epoch < total {
        ending = .interrupted(epoch: epoch, step: trainer.stepsPerEpoch)
        break
      }
    }
    try writer?.flushMetrics()
  }

  /// The checkpoint of the state now, with the early-stopping record (in the second training of
  /// `early_stopping.refit`, the best epoch and value alone: the best weights were the first's).
  private func checkpoint(nextEpoch: Int) -> Checkpoint {
    guard let refitAfter else {
      var c = trainer.checkpoint(nextEpoch: nextEpoch)
      tracker?.save(into: &c)
      return c
    }
    var c = trainer.checkpoint(nextEpoch: nextEpoch - refitAfter)
    c.epoch += refitAfter
    c.refitAfter = refitAfter
    (c.bestEpoch, c.bestValue) = (tracker?.bestEpoch, tracker?.bestValue)
    return c
  }

  /// `early_stopping.refit`: a new trainer from the same start on the training and validation
  /// rows for the best epoch's number of epochs, numbered after the first training's `after`.
  /// Its first checkpoint is written at once, so that a resume goes on with it.
  private func beginRefit(after: Int, epochs: Int, _ events: SessionEvents) throws(SessionError) {
    selection =
      bestSeen?.epoch == epochs
      ? bestSeen?.validation : earlier.last { $0.epoch == epochs }?.validation
    trainer = Trainer(spec.refitted(epochs: epochs))
    (refitAfter, total) = (after, after + epochs)
    events.refitting(
      epochs, refitRows, trainer.stepsPerEpoch)
    try writer?.checkpoint(
      checkpoint(nextEpoch: after + 1), keep: spec.training.checkpoint?.keep ?? 1)
  }

  private func finish(_ ending: Ending, _ summary: RunSummary, nextEpoch: Int)
    throws(SessionError) -> RunOutcome
  {
    var summary = summary
    if world.size > 1 {
      // Every rank applied the same updates to the same sums: their weights must be equal.
      let same = try collective { try world.identical(trainer.executor.parameterRegion) }
      guard same else {
        throw SessionError("the ranks' weights differ after training; the run is not saved")
      }
      (summary.ranks, summary.ranksIdentical) = (world.size, same)
    }
    var outcome = RunOutcome(
      ending: ending, summary: summary, directory: directory?.path, files: [])
    if case .diverged = ending {
      // The weights are not finite: keep the last good checkpoint, write no model.
      outcome.summary.divergedBecause =
        trainer.executor.firstNonFiniteTensor().map { "parameter '\($0)' became NaN or infinite" }
        ?? "loss became NaN or infinite"
      if let writer {
        try writer.endEvents(.failure, epoch: summary.epochsCompleted)
        try writer.write(record: outcome.summary, "summary.json")
        try commit()
      }
      try collective { try world.barrier() }
      return outcome
    }
    // Rank 0 writes the run (every rank holds the same weights); the others wait for it.
    guard let writer else {
      try collective { try world.barrier() }
      return outcome
    }
    // The state to resume from, then (with restore_best) the best epoch's weights as the model.
    let keep = spec.training.checkpoint?.keep ?? 1
    try writer.checkpoint(checkpoint(nextEpoch: nextEpoch), keep: keep)
    if let tracker, let bestEpoch = tracker.bestEpoch {
      outcome.summary.bestEpoch = bestEpoch
      outcome.summary.best = (tracker.rule.monitor, tracker.bestValue)
      if refitAfter == nil, let best = tracker.best {
        trainer.executor.restore(best)
        outcome.summary.restoredEpoch = bestEpoch
      }
    }
    // (After a refit, the run ends completed; its first training may have stopped early.)
    let stoppedEarly: Bool = if case .earlyStopped = ending { true } else { firstStoppedEarly }
    if stoppedEarly, let rule = tracker?.rule {
      outcome.summary.stoppedBecause =
        "'\(rule.monitor.rawValue)' did not improve for \(rule.patience) epochs"
    }
    outcome.summary.evaluations = finalEvaluation()
    let curves = earlier + Curves.thinned(reports)
    // With training.ema the model holds the averaged weights.
    let model = trainer.executor.withAveragedParameters {
      Model.encode(spec, trainer.executor, epochs: total)
    }
    try writer.write(model, "model.safetensors")
    try writer.write(record: outcome.summary, "summary.json")
    let stopped: Int? =
      if case .earlyStopped = ending { outcome.summary.epochsCompleted } else { refitAfter }
    let drawn = CurveRun(
      label: spec.name, epochs: curves, bestEpoch: outcome.summary.bestEpoch, stoppedEpoch: stopped)
    try writer.write(Data(Curves.svg([drawn]).utf8), "curves.svg")
    // An interrupted session goes on when the run is resumed.
    if case .interrupted = ending {
    } else {
      try writer.endEvents(.success, epoch: outcome.summary.epochsCompleted)
    }
    try commit()
    try collective { try world.barrier() }
    outcome.files =
      ["model.safetensors", "metrics.jsonl", "summary.json", "curves.svg"]
      + (writer.eventFileName.map { [$0] } ?? [])
    return outcome
  }

  private func commit() throws(SessionError) {
    do { try directory?.commit() } catch { throw SessionError(error.description) }
  }

  /// Whether any rank's `flag` is set.
  private func agreed(_ flag: Bool) throws(SessionError) -> Bool {
    var value = [flag ? 1.0 : 0]
    try collective { try world.maximum(&value) }
    return value[0] > 0
  }

  /// Metrics of the weights being saved, on every split (after a refit, the validation rows'
  /// are those of the first training's best epoch: the saved weights trained on those rows).
  private func finalEvaluation() -> [Split: Evaluation] {
    var out = [Split.train: trainer.evaluate(spec.data.train)]
    if refitAfter != nil {
      if let selection { out[.validation] = selection }
    } else if let v = spec.data.validation {
      out[.validation] = trainer.evaluate(v)
    }
    if let t = spec.data.test { out[.test] = trainer.evaluate(t) }
    return out
  }
}

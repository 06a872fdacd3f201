// One `mlpc run`, new or resumed: the epoch loop with its stops (end, early stopping, a signal,
// divergence), checkpoints, and the files written when it ends. The metrics in the summary and
// the last console line are always those of the weights that were saved.

import ArgumentParser
import Foundation
import MLPCore

/// Why training ended.
enum Ending {
  case completed
  case earlyStopped(bestEpoch: Int?)
  case interrupted(epoch: Int, step: Int)
  case diverged(epoch: Int, step: Int)

  var status: String {
    switch self {
    case .completed: "completed"
    case .earlyStopped: "early stopped"
    case .interrupted(let e, let s): "interrupted at epoch \(e) step \(s)"
    case .diverged(let e, let s): "diverged at epoch \(e) step \(s)"
    }
  }
}

/// With MPI, every rank runs a session: all train, rank 0 alone writes the run directory
/// (`directory` and `writer` are nil on the others), and every decision to stop is agreed.
final class TrainingSession {
  let spec: CheckedSpec
  let specPath: String
  let directory: RunDirectory?
  let writer: RunWriter?
  let world = World.shared
  let trainer: Trainer
  let total: Int
  /// The first epoch to run (1, or the checkpoint's epoch when resuming).
  let first: Int
  var tracker: EarlyStoppingTracker?
  /// Memory kept for saving, released just before the run is written.
  let reserve: SaveReserve
  /// The metrics lines of epochs before `first` (a resumed run's), and this session's reports:
  /// the learning curves are drawn from these, not by parsing metrics.jsonl again.
  var earlierMetrics: [[String: Any]] = []
  /// (Every other one is dropped when 2000 are kept, so they stay spread over all epochs.)
  var reports: [EpochReport] = []

  /// `--set` overrides of the spec, recorded in config.json and applied again on resume.
  let overrides: [SpecOverride]

  /// A new run of `spec` into `directory` (nil on ranks other than 0).
  init(
    _ spec: CheckedSpec, specPath: String, directory: RunDirectory?, epochs: Int?,
    overrides: [SpecOverride] = []
  ) throws {
    (self.spec, self.specPath, self.directory) = (spec, specPath, directory)
    self.overrides = overrides
    writer = try directory.map(RunWriter.init)
    trainer = Trainer(spec)
    total = epochs ?? spec.training.epochs
    first = 1
    tracker = spec.training.earlyStopping.map { EarlyStoppingTracker($0) }
    reserve = try SaveReserve(for: trainer.plan)
    try writer?.write(Data(spec.text.utf8), "spec.yaml")
    try writer?.write(json: resolvedConfiguration(), "config.json")
  }

  /// The run in `path`, continued from its latest checkpoint. Rank 0 reads the run directory;
  /// the other ranks receive its configuration, spec and checkpoint from it.
  init(resuming path: String, epochs: Int?, options: OutputOptions) throws {
    let world = World.shared
    let root = world.isRoot
    // Rank 0 opens the run (recovering a killed run's staging directory) and reads it.
    var directory: RunDirectory?
    if root {
      do { directory = try RunDirectory(path, existing: .resume) } catch {
        throw CleanError(error.description)
      }
      if let left = directory!.recovered {
        Console.err("continuing from '\(left)', left by a run that was killed\n")
      }
    }
    self.directory = directory
    let read = { (name: String) in
      directory.flatMap { FileManager.default.contents(atPath: $0.file(name)) }
    }
    let configData = try collective { try world.broadcast(read("config.json")) }
    let specData = try collective { try world.broadcast(read("spec.yaml")) }
    guard let configData, let specData,
      let config = try? JSONSerialization.jsonObject(with: configData) as? [String: Any],
      let specFile = config["spec_file"] as? String
    else {
      directory?.abandon()
      throw CleanError("'\(path)' is not a run directory of this mlpc (no config.json)")
    }
    let text = String(decoding: specData, as: UTF8.self)
    overrides = SpecOverride.list(config["overrides"] as? [String] ?? [])
    let result = Checker.check(text: text, file: specFile, overrides: overrides)
    let checked =
      root
      ? reportCheck(result, file: specFile, options: options, overrides: overrides) : result.spec
    guard let spec = checked else {
      directory?.abandon()
      throw ExitCode.failure
    }
    (self.spec, specPath) = (spec, specFile)
    let checkpointData = directory.flatMap { d in
      RunWriter.checkpoints(in: d.file("checkpoints")).last.flatMap {
        FileManager.default.contents(atPath: d.file("checkpoints") + "/" + $0)
      }
    }
    let received = try collective { try world.broadcast(checkpointData) }
    guard let checkpoint = received.flatMap(Checkpoint.decode) else {
      directory?.abandon()
      throw CleanError("'\(path)' has no checkpoint to resume from")
    }
    total = epochs ?? (config["epochs"] as? Int ?? spec.training.epochs)
    guard checkpoint.epoch <= total else {
      directory?.abandon()
      throw CleanError(
        "'\(path)' has trained \(checkpoint.epoch - 1) epochs; give --epochs above that to continue"
      )
    }
    writer = try directory.map(RunWriter.init)
    trainer = Trainer(spec)
    reserve = try SaveReserve(for: trainer.plan)
    trainer.restore(checkpoint)
    first = checkpoint.epoch
    tracker = spec.training.earlyStopping.map { EarlyStoppingTracker($0, resuming: checkpoint) }
    earlierMetrics = try writer?.truncateMetrics(before: checkpoint.epoch) ?? []
  }

  func train(quiet: Bool) throws {
    let progress = ProgressDisplay(
      quiet: quiet || !world.isRoot, epochs: total, steps: trainer.stepsPerEpoch)
    let started = Date()
    var ending = Ending.completed
    var last: EpochReport?
    var nextEpoch = first
    epochs: for epoch in first...max(first, total) where epoch <= total {
      let report: EpochReport
      do {
        report = try trainer.reportedEpoch(
          epoch, validation: spec.data.validation, test: spec.data.test,
          shouldStop: { StopRequest.requested },
          progress: { progress.step(epoch: epoch, step: $0) })
      } catch {
        switch error {
        case .interrupted(let e, let s): ending = .interrupted(epoch: e, step: s)
        case .nonFinite(let e, let s): ending = .diverged(epoch: e, step: s)
        case .communication(let message): throw CleanError(message)
        }
        break epochs
      }
      nextEpoch = epoch + 1
      let now = Date()
      try writer?.append(report, now: now)
      reports.append(report)
      // Bounded memory for any number of epochs: every other report goes when 2000 are kept.
      if reports.count >= 2000 {
        reports = reports.enumerated().filter { $0.0 % 2 == 0 || $0.0 == 1999 }.map(\.1)
      }
      progress.epoch(report)
      last = report
      if tracker?.observe(report, executor: trainer.executor) == true {
        ending = .earlyStopped(bestEpoch: tracker?.bestEpoch)
        break
      }
      if let schedule = spec.training.checkpoint, epoch % schedule.every == 0, epoch < total {
        try writer?.checkpoint(checkpoint(nextEpoch: nextEpoch), keep: schedule.keep)
      }
      // Every rank stops after the same epoch when any was asked to.
      if try agreed(StopRequest.requested), epoch < total {
        ending = .interrupted(epoch: epoch, step: trainer.stepsPerEpoch)
        break
      }
    }
    progress.finish()
    try writer?.flushMetrics()
    StopRequest.saving.store(true, ordering: .relaxed)
    reserve.release()
    do {
      try finish(
        ending, last: last, nextEpoch: nextEpoch, seconds: Date().timeIntervalSince(started))
    } catch let error as CleanError {
      // A write failed (a full disk, say): keep what was written, checkpoints included, where
      // --resume finds it, instead of leaving it in the hidden staging directory.
      guard let directory, (try? directory.commit()) != nil else { throw error }
      throw CleanError(
        "\(error.description); what was written is kept in '\(directory.path)': free space, then 'mlpc run --resume \(directory.path)'"
      )
    }
  }

  /// The checkpoint of the state now, with the early-stopping record.
  private func checkpoint(nextEpoch: Int) -> Checkpoint {
    var c = trainer.checkpoint(nextEpoch: nextEpoch)
    tracker?.save(into: &c)
    return c
  }

  private func finish(_ ending: Ending, last: EpochReport?, nextEpoch: Int, seconds: Double)
    throws
  {
    var summary: [String: Any] = [
      "name": spec.name, "spec": specPath, "status": ending.status, "epochs_planned": total,
      "epochs_completed": nextEpoch - 1, "seconds": seconds,
      "parameters": trainer.plan.parameterCount, "train_samples": spec.data.train.count,
    ]
    if let last { summary["last_epoch"] = last.dictionary }
    if world.size > 1 {
      // Every rank applied the same updates to the same sums: their weights must be equal.
      let same = try collective { try world.identical(trainer.executor.parameterRegion) }
      guard same else {
        throw CleanError("the ranks' weights differ after training; the run is not saved")
      }
      (summary["ranks"], summary["ranks_identical"]) = (world.size, same)
    }
    if case .diverged(let epoch, let step) = ending {
      // The weights are not finite: keep the last good checkpoint, write no model.
      let what =
        trainer.executor.firstNonFiniteTensor().map { "parameter '\($0)' became NaN or infinite" }
        ?? "loss became NaN or infinite"
      summary["non_finite"] = what
      if let writer {
        reportError(
          "\(what) at epoch \(epoch), step \(step); training stopped, no model written",
          help: "lower 'training.learning_rate' or set 'data.standardize: true'")
        try writer.write(json: summary, "summary.json")
        try commit()
      }
      try collective { try world.barrier() }
      throw ExitCode.failure
    }
    // Rank 0 writes the run (every rank holds the same weights); the others wait for it.
    guard let writer, let directory else {
      try collective { try world.barrier() }
      if case .interrupted = ending { throw ExitCode(StopRequest.exitStatus) }
      return
    }
    // The state to resume from, then (with restore_best) the best epoch's weights as the model.
    let keep = spec.training.checkpoint?.keep ?? 1
    try writer.checkpoint(checkpoint(nextEpoch: nextEpoch), keep: keep)
    if let tracker, let bestEpoch = tracker.bestEpoch {
      summary["best_epoch"] = bestEpoch
      summary["best_\(tracker.rule.monitor.rawValue)"] = tracker.bestValue
      if let best = tracker.best { trainer.executor.restore(best) }
    }
    if case .earlyStopped = ending {
      summary["stopped_because"] =
        "'\(tracker!.rule.monitor.rawValue)' did not improve for \(tracker!.rule.patience) epochs"
    }
    let final = finalEvaluation()
    let curveLines = earlierMetrics + Curves.thinned(reports).map(\.dictionary)
    summary.merge(final.mapValues { $0.dictionary }) { _, b in b }
    try writer.write(Model.encode(spec, trainer.executor, epochs: total), "model.safetensors")
    try writer.write(json: summary, "summary.json")
    try writer.write(
      Data(Curves.svg([(spec.name, curveLines)]).utf8), "curves.svg")
    try commit()
    try collective { try world.barrier() }
    Console.out(resultLine(nextEpoch - 1, final) + "\n")
    Console.out(
      "wrote \(directory.path)/model.safetensors, metrics.jsonl, summary.json, curves.svg\n")
    if case .interrupted(let epoch, let step) = ending {
      Console.err("interrupted at epoch \(epoch), step \(step); saved what was trained\n")
      throw ExitCode(StopRequest.exitStatus)
    }
  }

  private func commit() throws {
    do { try directory?.commit() } catch { throw CleanError(error.description) }
  }

  /// Whether any rank's `flag` is set.
  private func agreed(_ flag: Bool) throws -> Bool {
    var value = [flag ? 1.0 : 0]
    try collective { try world.maximum(&value) }
    return value[0] > 0
  }

  /// Metrics of the weights being saved, on every split.
  private func finalEvaluation() -> [String: Evaluation] {
    var out = ["train": trainer.evaluate(spec.data.train)]
    if let v = spec.data.validation { out["validation"] = trainer.evaluate(v) }
    if let t = spec.data.test { out["test"] = trainer.evaluate(t) }
    return out
  }

  private func resultLine(_ epochs: Int, _ e: [String: Evaluation]) -> String {
    var line = "\(epochs) epochs"
    for name in ["train", "validation", "test"] {
      guard let m = e[name] else { continue }
      line += ", \(name) loss \(fmt(m.loss))"
      if let a = m.accuracy { line += ", \(name) accuracy \(String(format: "%.2f", a * 100)) %" }
      if let r2 = m.r2 { line += ", \(name) R² \(fmt(r2)), MAE \(fmt(m.mae ?? .nan))" }
    }
    return line
  }

  /// config.json: where the spec is, and every setting with its default filled in.
  private func resolvedConfiguration() -> [String: Any] {
    let description = ModelDescription(spec)
    let model =
      (try? JSONSerialization.jsonObject(with: Data(description.json.utf8))) as? [String: Any]
    return [
      "spec_file": URL(fileURLWithPath: specPath).standardized.path, "epochs": total,
      "overrides": overrides.map(\.text),
      "model": model ?? [:],
      "data": [
        "train_samples": spec.data.train.count,
        "validation_samples": spec.data.validation?.count ?? 0,
        "test_samples": spec.data.test?.count ?? 0,
        "standardized": spec.data.standardizer != nil,
      ],
    ]
  }
}

/// Memory taken when training starts and given back just before the run is saved, so that the
/// copies saving makes (the checkpoint's state, the model's tensors, both encoded) find room even
/// when training used the rest of a tight limit (`ulimit -v`, a container's): a run that could
/// not save fails at the start, not after its epochs.
final class SaveReserve {
  private var block: UnsafeMutableRawPointer?

  init(for plan: ExecutionPlan) throws {
    let floats = plan.parameters.count * (3 + 2 * plan.optimizerState.count)
    let bytes = floats * 4 + (16 << 20)
    block = malloc(bytes)
    guard block != nil else {
      throw CleanError(
        "cannot reserve \(bytes) bytes to save the model at the end; raise the memory limit")
    }
  }

  func release() {
    free(block)
    block = nil
  }

  deinit { release() }
}

/// Prints a check result's diagnostics like `loadChecked`; the checked spec, or nil on errors.
func reportCheck(
  _ result: CheckResult, file: String, options: OutputOptions, overrides: [SpecOverride] = []
) -> CheckedSpec? {
  // A diagnostic inside a `--set` shows that argument as its source line.
  let sources = SourceLines(
    overrides: Dictionary(uniqueKeysWithValues: overrides.map { ($0.sourceName, $0.text) }))
  let renderer = DiagnosticRenderer(
    colored: options.useColor(fileDescriptor: 2), sources: sources)
  switch options.format {
  case .text: for d in result.diagnostics { Console.err(renderer.text(d)) }
  case .github: for d in result.diagnostics { Console.err(renderer.github(d) + "\n") }
  case .json: Report.shared.add(result, file: file)
  }
  return result.spec
}

/// Runs a collective call of the ranks, turning its failure into a clean error.
func collective<T>(_ body: () throws -> T) throws -> T {
  do { return try body() } catch let error as WorldError { throw CleanError(error.description) }
}

// Printing a run: the console's view of a `TrainingSession` (progress, epoch lines, the result
// line, the error of a diverged run) and the exit status of how it ended.

import ArgumentParser
import Foundation
import MLPCore

/// Trains `session`, printing as it goes; throws the exit status of a run that did not complete.
func train(_ session: TrainingSession, quiet: Bool, logEvery: Int = 1) throws {
  let world = World.shared
  let progress = ProgressDisplay(
    quiet: quiet || !world.isRoot, epochs: session.total, steps: session.trainer.stepsPerEpoch,
    logEvery: logEvery)
  if session.first > 1, !quiet, world.isRoot {
    Console.out("resuming from epoch \(session.first) of \(session.total)\n")
    if let stopped = session.restartedPatience {
      Console.out(
        "the run had stopped early after epoch \(stopped); early stopping's patience counts again from there\n"
      )
    }
    let schedule = session.spec.training.schedule
    let end = schedule.warmupEpochs + schedule.cosineEpochs
    if schedule.kind == .cosine, session.total > end {
      Console.out(
        "the cosine schedule keeps its period (T_max \(schedule.cosineEpochs), from training.epochs \(session.spec.training.epochs)): after epoch \(end) the rate rises again, as PyTorch's CosineAnnealingLR does; start a new run with --epochs \(session.total) (or --init-from) for one cosine over all epochs\n"
      )
    }
  }
  var events = SessionEvents()
  events.step = { progress.step(epoch: $0, step: $1) }
  events.epoch = { progress.epoch($0) }
  events.refitting = { epochs, rows, steps in
    progress.finish()
    (progress.epochs, progress.steps) = (session.total, steps)
    if !quiet, world.isRoot {
      Console.out(
        "training again from the start on all \(rows) rows (training and validation) for \(epochs) epoch\(epochs == 1 ? "" : "s"), the best epoch's number (early_stopping.refit)\n"
      )
    }
  }
  events.shouldStop = { StopRequest.requested }
  events.saving = {
    progress.finish()
    StopRequest.saving.store(true, ordering: .relaxed)
  }
  let outcome: RunOutcome
  outcome = try cleanly { () throws(SessionError) in try session.train(events) }
  try report(outcome)
}

/// Prints how a run ended; throws the exit status of one that did not complete.
func report(_ outcome: RunOutcome) throws {
  switch outcome.ending {
  case .diverged(let epoch, let step):
    if outcome.directory != nil {
      reportError(
        "\(outcome.summary.divergedBecause ?? "loss became NaN or infinite") at epoch \(epoch), step \(step); training stopped, no model written",
        help: "lower 'training.learning_rate' or set 'data.standardize: true'")
    }
    throw ExitCode.failure
  case .interrupted(let epoch, let step):
    if let directory = outcome.directory {
      printResult(outcome, directory)
      Console.err("interrupted at epoch \(epoch), step \(step); saved what was trained\n")
    }
    throw ExitCode(StopRequest.exitStatus)
  case .completed, .earlyStopped:
    if let directory = outcome.directory {
      printResult(outcome, directory)
      Console.out(endingLine(outcome.ending, outcome.summary) + "\n")
    }
  }
}

/// How a finished run ended, for the last line: completed, or stopped early (when, why, and
/// which epoch's weights the model holds).
func endingLine(_ ending: Ending, _ s: RunSummary) -> String {
  if let after = s.refitAfter {
    let first =
      s.stoppedBecause.map { "early stopped at epoch \(after): \($0)" }
      ?? "completed \(after) epochs"
    return first
      + "; the model trained again on \(s.refitSamples ?? 0) rows for \(s.bestEpoch ?? 0) epoch\(s.bestEpoch == 1 ? "" : "s"), the best epoch's number (refit)"
  }
  let holds =
    s.restoredEpoch.map { "the model holds epoch \($0), the best (restore_best)" }
    ?? "the model holds the last epoch, \(s.epochsCompleted)"
  switch ending {
  case .earlyStopped:
    return "early stopped at epoch \(s.epochsCompleted) of \(s.epochsPlanned)"
      + (s.stoppedBecause.map { ": \($0)" } ?? "") + "; " + holds
  default:
    return "completed \(s.epochsCompleted) epochs"
      + (s.restoredEpoch == nil ? "" : "; " + holds)
  }
}

private func printResult(_ outcome: RunOutcome, _ directory: String) {
  let s = outcome.summary
  var line = "\(s.epochsCompleted) epochs"
  for split in Split.allCases {
    guard let m = s.evaluations[split] else { continue }
    line += ", \(split.rawValue) loss \(fmt(m.loss))"
    if let a = m.accuracy {
      line += ", \(split.rawValue) accuracy \(String(format: "%.2f", a * 100)) %"
    }
    if let r2 = m.r2 { line += ", \(split.rawValue) R² \(fmt(r2)), MAE \(fmt(m.mae ?? .nan))" }
  }
  Console.out(line + "\n")
  Console.out("wrote \(safeText(directory))/\(outcome.files.joined(separator: ", "))\n")
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

/// Runs a library call, turning its `SessionError` into the executable's error: exit 1 with the
/// message, or exit 1 alone when the diagnostics of an invalid spec were printed already.
func cleanly<T>(_ body: () throws(SessionError) -> T) throws -> T {
  do { return try body() } catch {
    if error.invalidSpec { throw ExitCode.failure }
    throw CleanError(error.description, help: error.help)
  }
}

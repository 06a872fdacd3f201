// `mlpc run SPEC`: check → plan → train → evaluate, printing one line per epoch (or a progress
// bar on a terminal) into a run directory that never mixes runs (RunDirectory): the model, the
// metrics, a summary, the spec as written, the resolved configuration, checkpoints and curves.
// `--resume RUN_DIR` continues a run from its latest checkpoint.

import ArgumentParser
import Foundation
import MLPCore

extension MLPCCommand {
  struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Train the network a spec describes and write the trained model.")

    @Argument(help: "The spec file (not with --resume).")
    var spec: String?

    @Option(
      help: "Run directory (default: runs/<name> beside the spec, or runs/<name>-2, … if taken).")
    var out: String?

    @Option(
      parsing: .unconditional,
      help: "Train for this many epochs in all (with --resume: continue to this many).")
    var epochs: Int?

    @Flag(help: "Replace the run directory given by --out if it exists.")
    var force = false

    @Option(help: "Continue the run in this directory from its latest checkpoint.")
    var resume: String?

    @Option(
      help: ArgumentHelp(
        "Start this new run from a trained run's or model file's weights (layers of the same shapes; a new optimizer state and schedule).",
        valueName: "run-or-model"))
    var initFrom: String?

    @Option(
      help: ArgumentHelp(
        "Validate on fold K of N of the training rows (cross-validation, as mlpc sweep --cv splits them) instead of validation_split.",
        valueName: "k/n"))
    var fold: String?

    /// `--fold K/N` as (index from 0, count).
    var foldIndex: (index: Int, count: Int)? {
      guard let fold else { return nil }
      let parts = fold.split(separator: "/").map { Int($0) }
      guard parts.count == 2, let k = parts[0], let n = parts[1], n >= 2, n <= 100, k >= 1, k <= n
      else { return nil }
      return (k - 1, n)
    }

    @Flag(name: .shortAndLong, help: "Print only the final result.")
    var quiet = false

    @Option(
      help: ArgumentHelp(
        "Print every Nth epoch's line (and the first and last; for CI logs).", valueName: "n"))
    var logEvery = 1

    @Option(
      name: .customLong("set"),
      help: ArgumentHelp(
        "Override one spec value, checked like the spec: PATH=VALUE, e.g. training.learning_rate=0.01 or layers[0].units=64 (repeatable; the run records them).",
        valueName: "path=value"))
    var overrides: [String] = []

    @OptionGroup var output: OutputOptions

    @OptionGroup var tracking: TrackingArguments

    func validate() throws {
      if logEvery < 1 { throw ValidationError("--log-every must be at least 1") }
      if let epochs, epochs < 1 || epochs > 10_000_000 {
        throw ValidationError("--epochs must be between 1 and 10000000")
      }
      if (spec == nil) == (resume == nil) {
        throw ValidationError("give a spec file, or --resume RUN_DIR")
      }
      if epochs != nil, overrides.contains(where: { $0.hasPrefix("training.epochs=") }) {
        throw ValidationError("--epochs N is --set training.epochs=N; give one of them")
      }
      if resume != nil, let refused = overrides.lazy.compactMap(ResumeChange.problem).first {
        throw ValidationError(refused)
      }
      if fold != nil, foldIndex == nil {
        throw ValidationError("--fold needs K/N with 1 ≤ K ≤ N and 2 ≤ N ≤ 100, found '\(fold!)'")
      }
      if resume != nil, fold != nil {
        throw ValidationError("--fold starts a new run; --resume continues one")
      }
      if resume != nil, initFrom != nil {
        throw ValidationError("--init-from starts a new run; --resume continues one")
      }
      if resume != nil, out != nil || force {
        throw ValidationError("--resume continues its run in place; --out and --force do not apply")
      }
    }

    func run() throws {
      let world = World.shared
      let session: TrainingSession
      if let resume {
        session = try resumed(resume)
      } else {
        // On a new run --epochs N is --set training.epochs=N: the schedule (a cosine's period)
        // and the recorded configuration follow it.
        var overrides = SpecOverride.list(overrides)
        if let epochs {
          overrides.append(SpecOverride("training.epochs=\(epochs)", index: 1, option: "--epochs"))
        }
        // With MPI, rank 0 reports the spec's diagnostics and writes the run directory.
        let check = { (path: String) in
          foldIndex.map { Checker.check(file: path, overrides: overrides, fold: $0) }
            ?? Checker.check(file: path, overrides: overrides)
        }
        let checked =
          world.isRoot
          ? spec.flatMap {
            reportCheck(check($0), file: $0, options: output, overrides: overrides)
          }
          : spec.flatMap { check($0).spec }
        guard let spec, let checked else { throw ExitCode.failure }
        // The weights to start from are checked before any run directory exists.
        let initial = try initFrom.map { from in
          (weights: try transfer(from, to: checked, spec: spec, overrides: overrides), from: from)
        }
        var directory: RunDirectory?
        if world.isRoot {
          let path = out ?? RunDirectory.firstFree(defaultRunDirectory(spec, checked.name))
          do { directory = try RunDirectory(path, existing: force ? .replace : .refuse) } catch {
            throw CleanError(error.description)
          }
        }
        session = try cleanly { () throws(SessionError) in
          try TrainingSession(
            checked, specPath: spec, directory: directory, overrides: overrides, initial: initial,
            fold: foldIndex)
        }
      }
      if world.isRoot { session.tracking = try tracking.options(experiment: session.spec.name) }
      StopRequest.install()
      // An exit code (interrupted, diverged) is reached by every rank together, after a
      // barrier: MPI is finalised. A failure on one rank ends it without finalising, and mpirun
      // then ends the others.
      do { try train(session, quiet: quiet, logEvery: logEvery) } catch let code as ExitCode {
        world.finish()
        throw code
      }
      world.finish()
    }

    /// The weights of the model at `path` for `checked`; an error at the spec's first layer
    /// (its `units`) that does not match.
    private func transfer(
      _ path: String, to checked: CheckedSpec, spec: String, overrides: [SpecOverride]
    ) throws -> WeightTransfer {
      let model: Model
      do { model = try Model.load(path) } catch {
        throw CleanError("--init-from: \(error.description)")
      }
      switch WeightTransfer.fit(model, to: checked.network) {
      case .success(let weights): return weights
      case .failure(let mismatch):
        let parsed = SpecParser.parse(file: spec, overrides: overrides).spec
        let at = mismatch.layer.flatMap { parsed?.unitsLocation(layer: $0) }
        throw CleanError(
          (at.map { "\($0): " } ?? "") + "--init-from '\(safeText(path))': \(mismatch.description)",
          help: "give a model trained with the same layer sizes, or start from scratch")
      }
    }

    /// The session continuing the run in `path`: rank 0 opens it (recovering a killed run's
    /// staging directory) and reports the recorded spec's diagnostics.
    private func resumed(_ path: String) throws -> TrainingSession {
      var directory: RunDirectory?
      if World.shared.isRoot {
        do { directory = try RunDirectory(path, existing: .resume) } catch {
          throw CleanError(error.description)
        }
        if let left = directory?.recovered {
          Console.err("continuing from '\(left)', left by a run that was killed\n")
        }
      }
      let options = output
      // `training.epochs` on resume is --epochs: the run goes on to that many, its schedule
      // keeps its period.
      let setEpochs = overrides.last { $0.hasPrefix("training.epochs=") }.flatMap {
        Int($0.dropFirst("training.epochs=".count).trimmingCharacters(in: .whitespaces))
      }
      if overrides.contains(where: { $0.hasPrefix("training.epochs=") }), setEpochs == nil {
        throw CleanError("training.epochs must be a whole number of epochs")
      }
      let changes = overrides.filter { !$0.hasPrefix("training.epochs=") }
      return try cleanly { () throws(SessionError) in
        try TrainingSession(
          resuming: directory, runPath: path, epochs: setEpochs ?? epochs, changes: changes
        ) {
          text, file, overrides, fold in
          let result = Checker.check(text: text, file: file, overrides: overrides, fold: fold)
          guard World.shared.isRoot else { return result.spec }
          return reportCheck(result, file: file, options: options, overrides: overrides)
        }
      }
    }
  }
}

/// `runs/<name>` beside the spec; the name is the user's text, kept to one path component.
func defaultRunDirectory(_ spec: String, _ name: String) -> String {
  let runs = PathText.join(PathText.parent(spec), "runs")
  let safe = String(name.map { $0 == "/" || $0 == "\\" ? "_" : $0 })
  let component = safe.trimmingCharacters(in: CharacterSet(charactersIn: "."))
  return PathText.join(runs, component.isEmpty ? "run" : component)
}

func fmt(_ x: Double) -> String { String(format: "%.4g", x) }

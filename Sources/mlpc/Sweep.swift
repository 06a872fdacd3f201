// `mlpc sweep SPEC --grid PATH=V1,V2 …`: every combination of the grids' values, each checked
// (all of them before any training starts) and trained as `mlpc run --set …` would, into its own
// run directory inside the sweep's directory; then a table of the runs sorted by the validation
// metric, printed and written as sweep.csv and sweep.json.

import ArgumentParser
import Foundation
import MLPCore

extension MLPCCommand {
  struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Train every combination of a grid of spec values and rank the runs.")

    @Argument(help: "The spec file.")
    var spec: String

    @Option(
      help: ArgumentHelp(
        "One grid axis: PATH=V1,V2,… (commas inside [] or {} or quotes do not split; repeatable).",
        valueName: "path=values"))
    var grid: [String] = []

    @Option(
      help: ArgumentHelp(
        "One random-search axis: PATH=log(a,b), uniform(a,b), int(a,b) or choice(v1,v2,…) (repeatable; with --trials).",
        valueName: "path=distribution"))
    var search: [String] = []

    @Option(help: "Random-search trials: draws of every --search axis (default 10).")
    var trials: Int?

    @Option(help: "Seed of the random search's draws.")
    var seed: UInt64 = 0

    @Option(
      help: ArgumentHelp(
        "k-fold cross-validation of every run (stratified for classification, as scikit-learn's StratifiedKFold without shuffling): k trainings, ranked by the mean.",
        valueName: "k"))
    var cv: Int?

    @Option(
      help: ArgumentHelp(
        "Rank by this metric: SPLIT_METRIC, e.g. validation_accuracy, validation_loss, train_loss.",
        valueName: "metric"))
    var metric: String?

    @Option(
      help:
        "Trainings at once, each an mlpc process with an equal share of the cores (MLPC_THREADS); default 1, in this process."
    )
    var jobs = 1

    @Option(
      name: .customLong("set"),
      help: ArgumentHelp(
        "Override one spec value for every run: PATH=VALUE.", valueName: "path=value"))
    var overrides: [String] = []

    @Option(
      help: "Sweep directory (default: runs/<name>-sweep beside the spec, or -2, … if taken).")
    var out: String?

    @Flag(help: "Replace the sweep directory given by --out if it exists.")
    var force = false

    @Option(parsing: .unconditional, help: "Train each run for this many epochs.")
    var epochs: Int?

    @Option(
      parsing: .unconditional,
      help: "Refuse a grid of more combinations than this (default 1000), before checking any.")
    var maxRuns = 1000

    @OptionGroup var output: OutputOptions

    @OptionGroup var tracking: TrackingArguments

    func validate() throws {
      if grid.isEmpty == search.isEmpty {
        throw ValidationError(
          "give --grid PATH=V1,V2 axes (every combination) or --search PATH=DISTRIBUTION axes (random draws), not both"
        )
      }
      if trials != nil, search.isEmpty { throw ValidationError("--trials goes with --search") }
      if let trials, trials < 1 || trials > 100_000 {
        throw ValidationError("--trials must be between 1 and 100000")
      }
      if let cv, cv < 2 || cv > 100 { throw ValidationError("--cv must be between 2 and 100") }
      if jobs < 1 || jobs > 256 { throw ValidationError("--jobs must be between 1 and 256") }
      if let metric, Self.ranking(metric) == nil {
        throw ValidationError(
          "--metric must be SPLIT_METRIC with SPLIT train, validation or test and METRIC loss, accuracy, mse, mae or r2, found '\(metric)'"
        )
      }
      if let epochs, epochs < 1 || epochs > 10_000_000 {
        throw ValidationError("--epochs must be between 1 and 10000000")
      }
      for axis in grid where !axis.contains("=") {
        throw ValidationError("--grid needs PATH=V1,V2,…, found '\(axis)'")
      }
    }

    /// The ranking `--metric` names, nil when it names none.
    static func ranking(_ text: String) -> SweepRanking? {
      for split in Split.allCases where text.hasPrefix(split.rawValue + "_") {
        guard let m = MetricName(rawValue: String(text.dropFirst(split.rawValue.count + 1)))
        else { return nil }
        return SweepRanking(split: split, metric: m)
      }
      return nil
    }

    func run() throws {
      // The varied paths and each run's values: grid combinations, or random draws.
      var names: [String] = []
      var paths: [String] = []
      var combinations: [[String]] = []
      let option = search.isEmpty ? "--grid" : "--search"
      if search.isEmpty {
        let axes = grid.map(GridAxis.init)
        if let empty = axes.first(where: { $0.values.isEmpty }) {
          throw ValidationError("--grid \(empty.path)= has no values")
        }
        let count = GridAxis.combinationCount(axes)
        guard let count, count <= maxRuns else {
          throw ValidationError(
            "the grid has \(count.map(String.init) ?? "too many") combinations, more than --max-runs \(maxRuns); give fewer values or raise --max-runs"
          )
        }
        (names, paths) = (axes.map(\.shortName), axes.map(\.path))
        combinations = GridAxis.combinations(axes)
      } else {
        var axes: [SearchAxis] = []
        for argument in search {
          switch SearchAxis.parse(argument) {
          case .success(let axis): axes.append(axis)
          case .failure(let problem): throw ValidationError(problem.description)
          }
        }
        guard (trials ?? 10) <= maxRuns else {
          throw ValidationError("--trials \(trials ?? 10) is more than --max-runs \(maxRuns)")
        }
        (names, paths) = (axes.map(\.shortName), axes.map(\.path))
        combinations = SearchAxis.trials(axes, count: trials ?? 10, seed: seed)
      }
      // --epochs N is --set training.epochs=N, as for mlpc run (a schedule's period follows it).
      let fixed =
        SpecOverride.list(overrides)
        + (epochs.map { [SpecOverride("training.epochs=\($0)", index: 1, option: "--epochs")] }
          ?? [])
      // Every run (and with --cv every fold of it) is checked before the first one trains.
      var runs: [SweepRun] = []
      for values in combinations {
        let varied = zip(paths, values).enumerated().map { i, pair in
          SpecOverride("\(pair.0)=\(pair.1)", index: i + 1, option: option)
        }
        let all = fixed + varied
        guard let checked = loadChecked(spec, options: output, overrides: all) else {
          throw ExitCode.failure
        }
        var folds: [CheckedSpec] = []
        for k in 0..<(cv ?? 0) {
          let result = Checker.check(file: spec, overrides: all, fold: (k, cv!))
          guard let fold = reportCheck(result, file: spec, options: output, overrides: all)
          else { throw ExitCode.failure }
          folds.append(fold)
        }
        runs.append(SweepRun(values: values, overrides: all, spec: checked, folds: folds))
      }
      var ranking =
        metric.flatMap(Self.ranking) ?? SweepRanking(cv == nil ? runs[0].spec : runs[0].folds[0])
      if cv != nil, metric == nil, ranking.byTrainingLoss {
        ranking = SweepRanking(split: .validation, metric: .loss)
      }
      if ranking.byTrainingLoss {
        Console.err(
          "warning: the runs are ranked by their training loss, which rewards overfitting: give 'data.validation_split', --cv K, or --metric\n"
        )
      }
      let name = runs[0].spec.name
      let folder = out ?? RunDirectory.firstFree(defaultRunDirectory(spec, name + "-sweep"))
      let trackingOptions = try tracking.options(experiment: name)
      try prepare(folder)
      Console.out("sweep of \(runs.count) runs into \(safeText(folder))\n")
      StopRequest.install()
      var sweep = MLPCore.Sweep(
        names: names, paths: paths, runs: runs, specPath: spec, folder: folder, epochs: nil,
        ranking: ranking)
      // The sweep is an MLflow run whose params are its axes; each run is a child of it.
      let parent = trackingOptions.flatMap { options in
        MLflowTracker.start(
          options, spec: runs[0].spec, specPath: spec, name: PathText.lastComponent(folder),
          runDirectory: folder, existing: nil,
          params: sweepParams(paths: paths, combinations: combinations, fixed: fixed),
          extraTags: [("mlpc.sweep", "\(runs.count) runs")])
      }
      if let record = parent?.record {
        try? AtomicFile.write(
          Data((JSONRecord.document(record) + "\n").utf8),
          to: PathText.join(folder, MLflowRunRecord.fileName))
      }
      sweep.tracking = trackingOptions.map {
        var child = $0
        child.parentRunID = parent?.record.runID
        return child
      }
      let table =
        jobs > 1
        ? try parallel(sweep)
        : try cleanly { () throws(SessionError) in
          try sweep.train(
            starting: { i in
              let label = zip(names, runs[i].values).map { "\($0.0)=\($0.1)" }
              Console.out("[\(i + 1)/\(runs.count)] \(safeText(label.joined(separator: " ")))\n")
            },
            finished: { _, outcome in _ = try? report(outcome) },
            shouldStop: { StopRequest.requested })
        }
      do {
        try AtomicFile.write(Data(table.csv.utf8), to: folder + "/sweep.csv")
        try AtomicFile.write(Data(table.json.utf8), to: folder + "/sweep.json")
      } catch { throw CleanError(error.description) }
      Console.out(table.text)
      Console.out("wrote \(safeText(folder))/sweep.csv, sweep.json\n")
      parent?.finish(StopRequest.requested ? .killed : .finished, directory: folder)
      if StopRequest.requested { throw ExitCode(StopRequest.exitStatus) }
    }

    /// Trains the sweep's runs (each fold of them) as `mlpc run` processes, `jobs` at once,
    /// each with cores/jobs threads; Ctrl-C (or SIGTERM) interrupts the running ones, which save,
    /// and starts no more. The table of the runs whose trainings all finished.
    private func parallel(_ sweep: MLPCore.Sweep) throws -> SweepTable {
      struct Task {
        var run: Int
        var fold: Int?
        var directory: String
      }
      var tasks: [Task] = []
      for (i, run) in sweep.runs.enumerated() {
        if run.folds.isEmpty {
          tasks.append(Task(run: i, fold: nil, directory: sweep.directory(i)))
        } else {
          for k in run.folds.indices {
            tasks.append(
              Task(run: i, fold: k, directory: PathText.join(sweep.directory(i), "fold-\(k + 1)")))
          }
        }
      }
      let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
      let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / jobs)
      var environment = ProcessInfo.processInfo.environment
      environment["MLPC_THREADS"] = String(threads)
      let logs = FileManager.default.temporaryDirectory.path + "/mlpc-sweep-\(getpid())"
      try? FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(atPath: logs) }
      var pending = tasks[...]
      var running: [(Process, Task, String)] = []
      var failures: [String] = []
      var interrupted = false
      // After Ctrl-C nothing new starts: the loop ends when the running ones have saved.
      while (!pending.isEmpty && !StopRequest.requested) || !running.isEmpty {
        while running.count < jobs, let task = pending.first, !StopRequest.requested {
          pending = pending.dropFirst()
          let run = sweep.runs[task.run]
          var arguments = ["run", spec, "--out", task.directory, "--quiet"]
          if let tracking = sweep.tracking {
            arguments += ["--mlflow", tracking.server.uri]
            if let parent = tracking.parentRunID { arguments += ["--mlflow-parent", parent] }
          }
          for o in run.overrides { arguments += ["--set", o.text] }
          if let k = task.fold { arguments += ["--fold", "\(k + 1)/\(run.folds.count)"] }
          let process = Process()
          process.executableURL = URL(fileURLWithPath: executable)
          process.arguments = arguments
          process.environment = environment
          let log = logs + "/\(running.count)-\(tasks.count - pending.count).log"
          _ = FileManager.default.createFile(atPath: log, contents: nil)
          process.standardOutput = FileHandle.nullDevice
          process.standardError = FileHandle(forWritingAtPath: log)
          do { try process.run() } catch {
            throw CleanError("cannot start '\(executable)': \(error.localizedDescription)")
          }
          let label = zip(sweep.names, run.values).map { "\($0.0)=\($0.1)" }
          Console.out(
            "[\(task.run + 1)/\(sweep.runs.count)] \(safeText(label.joined(separator: " ")))"
              + (task.fold.map { " fold \($0 + 1)/\(run.folds.count)" } ?? "") + "\n")
          running.append((process, task, log))
        }
        if StopRequest.requested, !interrupted {
          interrupted = true
          for (process, _, _) in running where process.isRunning { process.interrupt() }
        }
        usleep(20_000)
        running.removeAll { process, task, log in
          guard !process.isRunning else { return false }
          // 0: completed; the interrupted status: saved; anything else is a failure to show.
          if process.terminationStatus != 0, process.terminationStatus != StopRequest.exitStatus {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            failures.append("\(safeText(task.directory)): \(safeText(String(text.suffix(400))))")
          }
          return true
        }
      }
      for failure in failures { Console.err("error: \(failure)\n") }
      var rows: [SweepRow] = []
      for (i, run) in sweep.runs.enumerated() {
        let folders =
          run.folds.isEmpty
          ? [sweep.directory(i)]
          : run.folds.indices.map { PathText.join(sweep.directory(i), "fold-\($0 + 1)") }
        let summaries = folders.compactMap(runSummary)
        guard summaries.count == folders.count else { continue }
        rows.append(
          SweepRow(directory: sweep.directory(i), values: run.values, summaries: summaries))
      }
      let ranking = sweep.ranking ?? SweepRanking(sweep.runs[0].spec)
      rows.sort(by: ranking.better)
      if !failures.isEmpty, rows.isEmpty { throw ExitCode.failure }
      return SweepTable(axes: sweep.paths, rows: rows, ranking: ranking)
    }

    /// The params of a sweep's MLflow run: each axis's values (`sweep.PATH`) and each `--set`
    /// for every run (`set.PATH`).
    private func sweepParams(paths: [String], combinations: [[String]], fixed: [SpecOverride])
      -> [(String, String)]
    {
      var out: [(String, String)] = []
      for (i, path) in paths.enumerated() {
        var values: [String] = []
        for c in combinations where !values.contains(c[i]) { values.append(c[i]) }
        out.append(("sweep." + path, values.joined(separator: ", ")))
      }
      for o in fixed {
        let parts = o.text.split(separator: "=", maxSplits: 1).map(String.init)
        out.append(("set." + parts[0], parts.count > 1 ? parts[1] : ""))
      }
      return out
    }

    /// Whether `folder` is a sweep's: it has the sweep's table, or holds only runs (a sweep
    /// killed before its table), or nothing.
    static func isSweepFolder(_ folder: String) -> Bool {
      if FileManager.default.fileExists(atPath: folder + "/sweep.json") { return true }
      let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? ["?"]
      return entries.allSatisfy { entry in
        if entry == MLflowRunRecord.fileName { return true }
        // A run's lock and staging directories are hidden; any other hidden file is the user's.
        return entry.hasPrefix(".")
          ? entry.hasSuffix(".lock") || entry.contains(".staging-")
          : FileManager.default.fileExists(atPath: folder + "/" + entry + "/config.json")
      }
    }

    /// The sweep's folder: new, or emptied with --force.
    private func prepare(_ folder: String) throws {
      let manager = FileManager.default
      if manager.fileExists(atPath: folder) {
        guard force else {
          throw CleanError("'\(folder)' exists; give --force to replace it or another --out")
        }
        guard Self.isSweepFolder(folder) else {
          throw CleanError(
            "'\(folder)' is not a sweep folder of mlpc (no sweep.json, and not only runs) and not empty; --force replaces only sweeps: remove it yourself or give another --out"
          )
        }
        try manager.removeItem(atPath: folder)
      }
      do { try manager.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
        throw CleanError("cannot create '\(folder)': \(error.localizedDescription)")
      }
    }
  }
}

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

    func validate() throws {
      if grid.isEmpty { throw ValidationError("give at least one --grid PATH=V1,V2") }
      if let epochs, epochs < 1 || epochs > 10_000_000 {
        throw ValidationError("--epochs must be between 1 and 10000000")
      }
      for axis in grid where !axis.contains("=") {
        throw ValidationError("--grid needs PATH=V1,V2,…, found '\(axis)'")
      }
    }

    func run() throws {
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
      let fixed = SpecOverride.list(overrides)
      // Every combination is checked before the first one trains.
      var runs: [SweepRun] = []
      for values in GridAxis.combinations(axes) {
        let gridOverrides = zip(axes, values).enumerated().map { i, pair in
          SpecOverride("\(pair.0.path)=\(pair.1)", index: i + 1, option: "--grid")
        }
        let all = fixed + gridOverrides
        guard let checked = loadChecked(spec, options: output, overrides: all) else {
          throw ExitCode.failure
        }
        runs.append(SweepRun(values: values, overrides: all, spec: checked))
      }
      let name = runs[0].spec.name
      let folder = out ?? RunDirectory.firstFree(defaultRunDirectory(spec, name + "-sweep"))
      try prepare(folder)
      Console.out("sweep of \(runs.count) runs into \(safeText(folder))\n")
      StopRequest.install()
      let sweep = MLPCore.Sweep(
        axes: axes, runs: runs, specPath: spec, folder: folder, epochs: epochs)
      let table = try cleanly { () throws(SessionError) in
        try sweep.train(
          starting: { i in
            let label = zip(axes, runs[i].values).map { "\($0.0.shortName)=\($0.1)" }
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
      if StopRequest.requested { throw ExitCode(StopRequest.exitStatus) }
    }

    /// Whether `folder` is a sweep's: it has the sweep's table, or holds only runs (a sweep
    /// killed before its table), or nothing.
    static func isSweepFolder(_ folder: String) -> Bool {
      if FileManager.default.fileExists(atPath: folder + "/sweep.json") { return true }
      let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? ["?"]
      return entries.allSatisfy { entry in
        // A run's lock and staging directories are hidden; any other hidden file is the user's.
        entry.hasPrefix(".")
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

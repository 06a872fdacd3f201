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
      let fixed = SpecOverride.list(overrides)
      // Every combination is checked before the first one trains.
      var runs: [(values: [String], overrides: [SpecOverride], spec: CheckedSpec)] = []
      var failed = false
      for values in combinations(axes.map(\.values)) {
        let gridOverrides = zip(axes, values).enumerated().map { i, pair in
          SpecOverride("\(pair.0.path)=\(pair.1)", index: i + 1, option: "--grid")
        }
        let all = fixed + gridOverrides
        guard let checked = loadChecked(spec, options: output, overrides: all) else {
          failed = true
          break
        }
        runs.append((values, all, checked))
      }
      if failed { throw ExitCode.failure }
      let name = runs[0].spec.name
      let folder = out ?? RunDirectory.firstFree(defaultRunDirectory(spec, name + "-sweep"))
      try prepare(folder)
      Console.out("sweep of \(runs.count) runs into \(folder)\n")
      StopRequest.install()
      var rows: [SweepRow] = []
      for (i, run) in runs.enumerated() {
        let label = zip(axes, run.values).map { "\($0.0.shortName)=\($0.1)" }
        let directoryName =
          String(format: "%02d-", i + 1) + label.joined(separator: "-").map(safeCharacter)
        let path = (folder as NSString).appendingPathComponent(String(directoryName))
        Console.out("[\(i + 1)/\(runs.count)] \(label.joined(separator: " "))\n")
        var status = "completed"
        do {
          let directory = try RunDirectory(path, existing: .refuse)
          let session = try TrainingSession(
            run.spec, specPath: spec, directory: directory, epochs: epochs,
            overrides: run.overrides)
          try session.train(quiet: true)
        } catch let error as RunDirectoryError {
          throw CleanError(error.description)
        } catch let code as ExitCode where code == .failure || StopRequest.requested {
          // Diverged (its summary says so), or stopped by a signal: the table is still written.
          status = StopRequest.requested ? "interrupted" : "failed"
        }
        rows.append(SweepRow(directory: path, values: run.values, summary: summary(path), status))
        if StopRequest.requested { break }
      }
      let ranking = SweepRanking(runs[0].spec)
      rows.sort(by: ranking.better)
      let table = SweepTable(axes: axes.map(\.path), rows: rows, ranking: ranking)
      try Data(table.csv.utf8).write(to: URL(fileURLWithPath: folder + "/sweep.csv"))
      try Data(table.json.utf8).write(to: URL(fileURLWithPath: folder + "/sweep.json"))
      Console.out(table.text)
      Console.out("wrote \(folder)/sweep.csv, sweep.json\n")
      if StopRequest.requested { throw ExitCode(StopRequest.exitStatus) }
    }

    /// The sweep's folder: new, or emptied with --force.
    private func prepare(_ folder: String) throws {
      let manager = FileManager.default
      if manager.fileExists(atPath: folder) {
        guard force else {
          throw CleanError("'\(folder)' exists; give --force to replace it or another --out")
        }
        try manager.removeItem(atPath: folder)
      }
      do { try manager.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
        throw CleanError("cannot create '\(folder)': \(error.localizedDescription)")
      }
    }

    private func summary(_ path: String) -> [String: Any] {
      FileManager.default.contents(atPath: path + "/summary.json")
        .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
    }
  }
}

private func safeCharacter(_ c: Character) -> Character {
  c.isLetter || c.isNumber || c == "." || c == "-" || c == "_" || c == "=" ? c : "_"
}

/// All combinations, the first axis varying slowest.
func combinations(_ axes: [[String]]) -> [[String]] {
  axes.reduce([[]]) { partial, values in partial.flatMap { p in values.map { p + [$0] } } }
}

/// One `--grid PATH=V1,V2` argument.
struct GridAxis {
  var path: String
  var values: [String]

  init(_ argument: String) {
    let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
    path = String(parts[0])
    values = splitTopLevel(parts.count > 1 ? String(parts[1]) : "")
  }

  /// The last key of the path, for labels: `learning_rate`, `units`.
  var shortName: String {
    String(path.split(separator: ".").last ?? Substring(path)).replacingOccurrences(
      of: "[", with: ""
    ).replacingOccurrences(of: "]", with: "")
  }
}

/// Splits on commas outside brackets, braces and quotes; trims spaces.
func splitTopLevel(_ text: String) -> [String] {
  var out: [String] = []
  var current = ""
  var depth = 0
  var quote: Character?
  for c in text {
    if let q = quote {
      if c == q { quote = nil }
    } else if c == "\"" || c == "'" {
      quote = c
    } else if c == "[" || c == "{" {
      depth += 1
    } else if c == "]" || c == "}" {
      depth -= 1
    } else if c == ",", depth == 0 {
      out.append(current.trimmingCharacters(in: .whitespaces))
      current = ""
      continue
    }
    current.append(c)
  }
  out.append(current.trimmingCharacters(in: .whitespaces))
  return out.filter { !$0.isEmpty }
}

/// One run of a sweep and its final metrics.
struct SweepRow {
  var directory: String
  var values: [String]
  var summary: [String: Any]
  var status: String

  init(directory: String, values: [String], summary: [String: Any], _ status: String) {
    (self.directory, self.values, self.summary) = (directory, values, summary)
    self.status = summary["status"] as? String ?? status
  }

  /// `validation.accuracy`, `train.loss`, … from the summary's final evaluation.
  func metric(_ split: String, _ name: String) -> Double? {
    (summary[split] as? [String: Any])?[name] as? Double
  }
}

/// How runs are ordered: the validation metric the spec watches (early stopping's monitor), else
/// validation accuracy for classification and validation loss for regression; training loss when
/// there is no validation split.
struct SweepRanking {
  var split: String
  var metric: String
  var maximize: Bool

  init(_ spec: CheckedSpec) {
    if let stopping = spec.training.earlyStopping, stopping.monitor != .trainLoss {
      let parts = stopping.monitor.rawValue.split(separator: "_", maxSplits: 1)
      (split, metric, maximize) = (String(parts[0]), String(parts[1]), stopping.maximize)
    } else if spec.data.validation == nil {
      (split, metric, maximize) = ("train", "loss", false)
    } else if spec.network.task == .classification {
      (split, metric, maximize) = ("validation", "accuracy", true)
    } else {
      (split, metric, maximize) = ("validation", "loss", false)
    }
  }

  var column: String { "\(split)_\(metric)" }

  /// Whether `a` ranks above `b` (runs without the metric last, ties by loss).
  func better(_ a: SweepRow, _ b: SweepRow) -> Bool {
    switch (a.metric(split, metric), b.metric(split, metric)) {
    case (nil, nil): return a.directory < b.directory
    case (nil, _): return false
    case (_, nil): return true
    case (let x?, let y?):
      if x != y { return maximize ? x > y : x < y }
      return (a.metric(split, "loss") ?? .infinity) < (b.metric(split, "loss") ?? .infinity)
    }
  }
}

/// The sweep's results as text, CSV and JSON.
struct SweepTable {
  var axes: [String]
  var rows: [SweepRow]
  var ranking: SweepRanking

  private var metricColumns: [(String, String)] {
    let names = ["loss", "accuracy", "r2", "mae"]
    return ["validation", "train", "test"].flatMap { split in
      names.compactMap { name in
        rows.contains { $0.metric(split, name) != nil } ? (split, name) : nil
      }
    }
  }

  var header: [String] {
    ["rank"] + axes + metricColumns.map { "\($0.0)_\($0.1)" } + ["epochs", "status", "run"]
  }

  func cells(_ i: Int, _ row: SweepRow) -> [String] {
    ["\(i + 1)"] + row.values
      + metricColumns.map { row.metric($0.0, $0.1).map { String(format: "%.6g", $0) } ?? "" }
      + ["\(row.summary["epochs_completed"] as? Int ?? 0)", row.status, row.directory]
  }

  var csv: String {
    let quote = { (s: String) in
      s.contains(where: { ",\"\n".contains($0) })
        ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
    return ([header] + rows.enumerated().map { cells($0, $1) }).map {
      $0.map(quote).joined(separator: ",")
    }.joined(separator: "\n") + "\n"
  }

  var json: String {
    let object: [String: Any] = [
      "sorted_by": ranking.column, "descending": ranking.maximize, "grid": axes,
      "runs": rows.enumerated().map { i, row in
        [
          "rank": i + 1, "run": row.directory, "status": row.status,
          "values": Dictionary(uniqueKeysWithValues: zip(axes, row.values)),
          "metrics": Dictionary(
            uniqueKeysWithValues: metricColumns.compactMap { s, m in
              row.metric(s, m).map { ("\(s)_\(m)", $0) }
            }),
        ] as [String: Any]
      },
    ]
    let data = try? JSONSerialization.data(
      withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data ?? Data(), as: UTF8.self) + "\n"
  }

  /// Aligned columns, best run first.
  var text: String {
    let table = [header] + rows.enumerated().map { cells($0, $1) }
    let widths = header.indices.map { c in table.map { $0[c].count }.max() ?? 0 }
    let lines = table.map { row in
      row.enumerated().map { c, cell in
        cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
      }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    return "sorted by \(ranking.column) (\(ranking.maximize ? "highest" : "lowest") first)\n"
      + lines.joined(separator: "\n") + "\n"
  }
}

// A sweep: every combination of grid values over one spec, each checked by the caller before
// any trains (`SweepRun`), trained as a session into its own run directory inside the sweep's
// folder, then ranked by the validation metric the spec watches into a table (`SweepTable`,
// written as sweep.csv and sweep.json). The runs are ranked from the summaries their sessions
// return; nothing is read back from disk.

import Foundation

/// One `--grid PATH=V1,V2` argument.
public struct GridAxis: Sendable {
  public var path: String
  public var values: [String]

  public init(_ argument: String) {
    let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
    path = String(parts[0])
    values = splitTopLevel(parts.count > 1 ? String(parts[1]) : "")
  }

  /// The last key of the path, for labels: `learning_rate`, `units`.
  public var shortName: String {
    String(path.split(separator: ".").last ?? Substring(path)).replacingOccurrences(
      of: "[", with: ""
    ).replacingOccurrences(of: "]", with: "")
  }

  /// How many combinations the axes make; nil when the count overflows.
  public static func combinationCount(_ axes: [GridAxis]) -> Int? {
    var count = 1
    for axis in axes {
      let (product, overflow) = count.multipliedReportingOverflow(by: axis.values.count)
      if overflow { return nil }
      count = product
    }
    return count
  }

  /// All combinations of the axes' values, the first axis varying slowest.
  public static func combinations(_ axes: [GridAxis]) -> [[String]] {
    axes.map(\.values).reduce([[]]) { partial, values in
      partial.flatMap { p in values.map { p + [$0] } }
    }
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

/// One combination of a sweep, checked: its grid values, all its overrides and the spec.
public struct SweepRun: Sendable {
  public var values: [String]
  public var overrides: [SpecOverride]
  public var spec: CheckedSpec
  /// With cross-validation: the spec checked with each fold held out, in fold order.
  public var folds: [CheckedSpec]

  public init(
    values: [String], overrides: [SpecOverride], spec: CheckedSpec, folds: [CheckedSpec] = []
  ) {
    (self.values, self.overrides, self.spec, self.folds) = (values, overrides, spec, folds)
  }
}

/// Trains the runs of a sweep one after another into `folder`.
public struct Sweep {
  /// The varied paths' short names (for folder names) and full paths (for the table).
  public var names: [String]
  public var paths: [String]
  public var runs: [SweepRun]
  public var specPath: String
  public var folder: String
  public var epochs: Int?
  /// How runs are ranked (nil: `SweepRanking(spec)`).
  public var ranking: SweepRanking?
  /// MLflow tracking of each run (as children of the sweep's run).
  public var tracking: TrackingOptions?

  public init(axes: [GridAxis], runs: [SweepRun], specPath: String, folder: String, epochs: Int?) {
    self.init(
      names: axes.map(\.shortName), paths: axes.map(\.path), runs: runs, specPath: specPath,
      folder: folder, epochs: epochs)
  }

  public init(
    names: [String], paths: [String], runs: [SweepRun], specPath: String, folder: String,
    epochs: Int?, ranking: SweepRanking? = nil
  ) {
    (self.names, self.paths, self.runs, self.specPath) = (names, paths, runs, specPath)
    (self.folder, self.epochs, self.ranking) = (folder, epochs, ranking)
  }

  /// The run directory of run `i`: its number and grid values, shortened (with a stable hash of
  /// the whole name, so names stay distinct) when longer than a file name may be.
  public func directory(_ i: Int) -> String {
    let label = zip(names, runs[i].values).map { "\($0.0)=\($0.1)" }
    var name =
      String(format: "%02d-", i + 1) + String(label.joined(separator: "-").map(safeCharacter))
    if name.utf8.count > 200 {
      var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
      for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
      var short = ""
      for c in name {
        if short.utf8.count + c.utf8.count > 160 { break }
        short.append(c)
      }
      name = short + "-" + String(hash, radix: 16)
    }
    return PathText.join(folder, name)
  }

  /// Trains every run (`starting(i)` before run `i`, `finished(i, outcome)` after it) until
  /// `shouldStop`; the table of the runs trained, best first. A run that diverges or is stopped
  /// is in the table with its status.
  public func train(
    starting: (Int) -> Void = { _ in }, finished: (Int, RunOutcome) -> Void = { _, _ in },
    shouldStop: @escaping () -> Bool = { false }
  ) throws(SessionError) -> SweepTable {
    var rows: [SweepRow] = []
    let ranking = self.ranking ?? SweepRanking(runs[0].spec)
    runs: for (i, run) in runs.enumerated() {
      starting(i)
      let path = directory(i)
      // One session, or one per fold into the run's folder (fold-1 … fold-K).
      let specs = run.folds.isEmpty ? [run.spec] : run.folds
      var summaries: [RunSummary] = []
      for (k, spec) in specs.enumerated() {
        let target = run.folds.isEmpty ? path : PathText.join(path, "fold-\(k + 1)")
        let directory: RunDirectory
        do { directory = try RunDirectory(target, existing: .refuse) } catch {
          throw SessionError(error.description)
        }
        let session = try TrainingSession(
          spec, specPath: specPath, directory: directory, epochs: epochs,
          overrides: run.overrides, fold: run.folds.isEmpty ? nil : (k, specs.count))
        session.tracking = tracking
        var events = SessionEvents()
        events.shouldStop = shouldStop
        let outcome = try session.train(events)
        finished(i, outcome)
        summaries.append(outcome.summary)
        if shouldStop() {
          if summaries.count == specs.count {
            rows.append(SweepRow(directory: path, values: run.values, summaries: summaries))
          }
          break runs
        }
      }
      rows.append(SweepRow(directory: path, values: run.values, summaries: summaries))
    }
    rows.sort(by: ranking.better)
    return SweepTable(axes: paths, rows: rows, ranking: ranking)
  }
}

private func safeCharacter(_ c: Character) -> Character {
  c.isLetter || c.isNumber || c == "." || c == "-" || c == "_" || c == "=" ? c : "_"
}

/// One run of a sweep and its summary (with cross-validation, one per fold).
public struct SweepRow: Sendable {
  public var directory: String
  public var values: [String]
  public var summaries: [RunSummary]

  public init(directory: String, values: [String], summaries: [RunSummary]) {
    (self.directory, self.values, self.summaries) = (directory, values, summaries)
  }

  public var summary: RunSummary { summaries[0] }
  public var status: String {
    summaries.allSatisfy { $0.status == summary.status } ? summary.status : "mixed"
  }

  /// The metric's value: with folds, its mean over them (nil when a fold lacks it).
  public func metric(_ split: Split, _ name: MetricName) -> Double? {
    let values = summaries.compactMap { $0.value(name, on: split) }
    guard values.count == summaries.count, !values.isEmpty else { return nil }
    return values.reduce(0, +) / Double(values.count)
  }

  /// Each fold's value of the metric (one value without cross-validation).
  public func foldValues(_ split: Split, _ name: MetricName) -> [Double] {
    summaries.compactMap { $0.value(name, on: split) }
  }

  /// The standard deviation over folds (population, as numpy's std), nil without folds.
  public func spread(_ split: Split, _ name: MetricName) -> Double? {
    let v = foldValues(split, name)
    guard summaries.count > 1, v.count == summaries.count else { return nil }
    let mean = v.reduce(0, +) / Double(v.count)
    return (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot()
  }
}

/// How runs are ordered: the validation metric the spec watches (early stopping's monitor), else
/// validation accuracy for classification and validation loss for regression; training loss when
/// there is no validation split.
public struct SweepRanking: Sendable {
  public var split: Split
  public var metric: MetricName
  public var maximize: Bool

  public init(split: Split, metric: MetricName) {
    (self.split, self.metric, self.maximize) = (split, metric, metric.improvesUpwards)
  }

  /// Whether the runs are ranked by their training loss (no validation rows to rank them by).
  public var byTrainingLoss: Bool { split == .train && metric == .loss }

  public init(_ spec: CheckedSpec) {
    if let stopping = spec.training.earlyStopping, stopping.monitor != .trainLoss {
      (split, metric, maximize) = (
        stopping.monitor.split, stopping.monitor.metric, stopping.maximize
      )
    } else if spec.data.validation == nil {
      (split, metric, maximize) = (.train, .loss, false)
    } else if spec.network.task == .classification {
      (split, metric, maximize) = (.validation, .accuracy, true)
    } else {
      (split, metric, maximize) = (.validation, .loss, false)
    }
  }

  public var column: String { "\(split.rawValue)_\(metric.rawValue)" }

  /// Whether `a` ranks above `b` (runs without the metric last, ties by loss).
  public func better(_ a: SweepRow, _ b: SweepRow) -> Bool {
    switch (a.metric(split, metric), b.metric(split, metric)) {
    case (nil, nil): return a.directory < b.directory
    case (nil, _): return false
    case (_, nil): return true
    case (let x?, let y?):
      if x != y { return maximize ? x > y : x < y }
      return (a.metric(split, .loss) ?? .infinity) < (b.metric(split, .loss) ?? .infinity)
    }
  }
}

/// The sweep's results as text, CSV and JSON (sweep.json: `sorted_by`, `descending`, `grid`
/// and the ranked `runs`).
public struct SweepTable: Sendable, Encodable {
  public var axes: [String]
  public var rows: [SweepRow]
  public var ranking: SweepRanking

  public init(axes: [String], rows: [SweepRow], ranking: SweepRanking) {
    (self.axes, self.rows, self.ranking) = (axes, rows, ranking)
  }

  private var metricColumns: [(Split, MetricName)] {
    let names: [MetricName] = [.loss, .accuracy, .r2, .mae]
    return [Split.validation, .train, .test].flatMap { split in
      names.compactMap { name in
        rows.contains { $0.metric(split, name) != nil } ? (split, name) : nil
      }
    }
  }

  /// Whether the rows are cross-validated (metrics are means over folds).
  var folds: Int { rows.map(\.summaries.count).max() ?? 1 }

  public var header: [String] {
    ["rank"] + axes + metricColumns.map { "\($0.0.rawValue)_\($0.1.rawValue)" }
      + (folds > 1 ? ["\(ranking.column)_std"] : []) + ["epochs", "status", "run"]
  }

  func cells(_ i: Int, _ row: SweepRow) -> [String] {
    ["\(i + 1)"] + row.values
      + metricColumns.map { row.metric($0.0, $0.1).map { String(format: "%.6g", $0) } ?? "" }
      + (folds > 1
        ? [row.spread(ranking.split, ranking.metric).map { String(format: "%.6g", $0) } ?? ""]
        : [])
      + ["\(row.summary.epochsCompleted)", row.status, row.directory]
  }

  public var csv: String {
    let quote = { (s: String) in
      s.contains(where: { ",\"\n".contains($0) })
        ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
    return ([header] + rows.enumerated().map { cells($0, $1) }).map {
      $0.map(quote).joined(separator: ",")
    }.joined(separator: "\n") + "\n"
  }

  /// One ranked run of sweep.json.
  struct RankedRun: Encodable {
    var rank: Int
    var run: String
    var status: String
    var values: [String: String]
    var metrics: [String: Double]
    /// With cross-validation: the ranking metric of each fold.
    var folds: [Double]?
  }

  enum CodingKeys: String, CodingKey {
    case grid, runs
    case sortedBy = "sorted_by"
    case descending
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(ranking.column, forKey: .sortedBy)
    try c.encode(ranking.maximize, forKey: .descending)
    try c.encode(axes, forKey: .grid)
    let ranked = rows.enumerated().map { i, row in
      RankedRun(
        rank: i + 1, run: row.directory, status: row.status,
        values: Dictionary(zip(axes, row.values)) { a, _ in a },
        metrics: Dictionary(
          metricColumns.compactMap { s, m in
            row.metric(s, m).map { ("\(s.rawValue)_\(m.rawValue)", $0) }
          }
        ) { a, _ in a },
        folds: folds > 1 ? row.foldValues(ranking.split, ranking.metric) : nil)
    }
    try c.encode(ranked, forKey: .runs)
  }

  public var json: String { JSONRecord.document(self) + "\n" }

  /// Aligned columns, best run first (values and folders shown printable).
  public var text: String {
    let table = ([header] + rows.enumerated().map { cells($0, $1) }).map {
      $0.map { safeText($0) }
    }
    let widths = header.indices.map { c in table.map { $0[c].count }.max() ?? 0 }
    let lines = table.map { row in
      row.enumerated().map { c, cell in
        cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
      }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    let mean = folds > 1 ? "the mean over \(folds) folds of " : ""
    return "sorted by \(mean)\(ranking.column) (\(ranking.maximize ? "highest" : "lowest") first)\n"
      + lines.joined(separator: "\n") + "\n"
  }
}

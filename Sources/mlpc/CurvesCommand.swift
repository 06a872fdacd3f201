// `mlpc curves RUN_DIR...`: the learning curves of one or more runs in one SVG picture, for
// comparing them (every run also writes its own curves.svg), with each run's best epoch and
// early stop from its summary.json; `mlpc curves SWEEP_DIR` draws every run of a sweep.

import ArgumentParser
import Foundation
import MLPCore

extension MLPCCommand {
  struct CurvesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "curves", abstract: "Draw the learning curves of runs as one SVG picture.")

    @Argument(help: "Run directories, or a sweep directory (all its runs).")
    var runs: [String]

    @Option(help: "Write the SVG here instead of standard output.")
    var out: String?

    @Option(
      help: ArgumentHelp(
        "The second panel: accuracy, r2, mse or mae (loss alone: loss).", valueName: "metric"))
    var metric: String?

    @Option(
      name: .customLong("split"),
      help: ArgumentHelp("Draw only this split: train, validation or test (repeatable)."))
    var splits: [String] = []

    @Flag(help: "The loss on a log scale (default: when it spans over two decades).")
    var log = false

    @Flag(help: "The loss on a linear scale, whatever its range.")
    var linear = false

    func validate() throws {
      if let out, let conflict = outputConflict(out, inputs: runs) {
        throw ValidationError(conflict)
      }
      if let metric, MetricName(rawValue: metric) == nil {
        throw ValidationError(
          "--metric must be one of \(MetricName.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      if let bad = splits.first(where: { Split(rawValue: $0) == nil }) {
        throw ValidationError("--split '\(bad)' is not train, validation or test")
      }
      if log && linear { throw ValidationError("--log and --linear exclude each other") }
    }

    func run() throws {
      var drawn: [CurveRun] = []
      for run in runs.flatMap(expandSweep) {
        // Streamed: a run of any number of epochs is drawn from at most 2000 evenly spaced ones.
        var sample = EvenSample<EpochReport>(limit: 1000)
        let file = run + "/metrics.jsonl"
        switch EpochReport.read(file, each: { sample.add($0) }) {
        case .failure(let problem):
          throw CleanError("'\(safeText(file))' \(problem.reason)")
        case .success(0): throw CleanError("'\(safeText(run))' has no metrics.jsonl with epochs")
        case .success:
          let summary = runSummary(run)
          drawn.append(
            CurveRun(
              label: label(run), epochs: sample.values, bestEpoch: summary?.bestEpoch,
              stoppedEpoch: summary?.status == "early stopped" ? summary?.epochsCompleted : nil))
        }
      }
      let options = CurveOptions(
        metric: metric.flatMap(MetricName.init),
        splits: splits.isEmpty ? nil : Set(splits.compactMap(Split.init)),
        logLoss: log ? true : linear ? false : nil)
      var picture = Curves.svg(drawn, options: options)
      // A sweep directory alone: its view (the ranking metric against each setting) below.
      if runs.count == 1, let view = sweepView(runs[0]) { picture = stacked(picture, view) }
      let sink = try OutputSink(path: out)
      sink.write(picture)
      try sink.finish()
    }
  }
}

/// A sweep directory's runs (its folders holding a metrics.jsonl, in name order; the folds of a
/// cross-validated one), or the run.
func expandSweep(_ path: String) -> [String] {
  guard FileManager.default.fileExists(atPath: path + "/sweep.json"),
    let names = try? FileManager.default.contentsOfDirectory(atPath: path)
  else { return [path] }
  let has = { (run: String) in FileManager.default.fileExists(atPath: run + "/metrics.jsonl") }
  // A cross-validated run is a folder of folds.
  let runs = names.sorted().map { PathText.join(path, $0) }.flatMap { run -> [String] in
    if has(run) { return [run] }
    let folds = (try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []
    return folds.filter { $0.hasPrefix("fold-") }.sorted().map { PathText.join(run, $0) }.filter(
      has)
  }
  return runs.isEmpty ? [path] : runs
}

/// A run's name in the legend: its folder's name ("." and ".." resolved to theirs).
func label(_ run: String) -> String {
  let name = PathText.lastComponent(run)
  if name.hasPrefix("fold-") {
    // A fold of a cross-validated sweep run: the run's number and the fold.
    let parent = PathText.lastComponent(PathText.parent(run))
    return String(parent.prefix { $0 != "-" }) + "/" + name
  }
  return name == "." || name == ".." || name.isEmpty
    ? PathText.lastComponent(canonicalPath(run)) : name
}

/// The sweep view of the sweep in `folder` (nil when it is not one, or has no ranked run).
func sweepView(_ folder: String) -> String? {
  guard let data = try? Data(contentsOf: URL(fileURLWithPath: folder + "/sweep.json")),
    let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
    let sortedBy = json["sorted_by"] as? String, let paths = json["grid"] as? [String],
    let runs = json["runs"] as? [[String: Any]]
  else { return nil }
  let points = runs.compactMap { run -> SweepView.Point? in
    guard let values = run["values"] as? [String: String],
      let metric = (run["metrics"] as? [String: Double])?[sortedBy]
    else { return nil }
    return SweepView.Point(values: values, metric: metric)
  }
  return points.isEmpty ? nil : SweepView.svg(points, paths: paths, metric: sortedBy)
}

/// Two SVG pictures, one above the other, as one.
func stacked(_ top: String, _ bottom: String) -> String {
  func size(_ svg: String, _ name: String) -> Double {
    guard let r = svg.range(of: " \(name)=\"") else { return 0 }
    return Double(svg[r.upperBound...].prefix { $0 != "\"" }) ?? 0
  }
  let (w, h1, h2) = (
    max(size(top, "width"), size(bottom, "width")), size(top, "height"), size(bottom, "height")
  )
  let place = { (svg: String, y: Double) in
    svg.replacingOccurrences(
      of: "<svg xmlns=\"http://www.w3.org/2000/svg\" ", with: "<svg y=\"\(y)\" ")
  }
  return """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(w)" height="\(h1 + h2)" viewBox="0 0 \(w) \(h1 + h2)">
    \(place(top, 0))\(place(bottom, h1))</svg>

    """
}

/// A run's summary.json (nil when there is none or it is not one).
func runSummary(_ run: String) -> RunSummary? { RunSummary.read(inRun: run) }

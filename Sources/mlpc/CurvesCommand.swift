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
          let summary = (try? Data(contentsOf: URL(fileURLWithPath: run + "/summary.json")))
            .flatMap { JSONRecord.decode(RunSummary.self, from: $0) }
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
      let sink = try OutputSink(path: out)
      sink.write(Curves.svg(drawn, options: options))
      try sink.finish()
    }
  }
}

/// A sweep directory's runs (its folders holding a metrics.jsonl, in name order), or the run.
func expandSweep(_ path: String) -> [String] {
  guard FileManager.default.fileExists(atPath: path + "/sweep.json"),
    let names = try? FileManager.default.contentsOfDirectory(atPath: path)
  else { return [path] }
  let runs = names.sorted().map { PathText.join(path, $0) }.filter {
    FileManager.default.fileExists(atPath: $0 + "/metrics.jsonl")
  }
  return runs.isEmpty ? [path] : runs
}

/// A run's name in the legend: its folder's name ("." and ".." resolved to theirs).
func label(_ run: String) -> String {
  let name = PathText.lastComponent(run)
  return name == "." || name == ".." || name.isEmpty
    ? PathText.lastComponent(canonicalPath(run)) : name
}

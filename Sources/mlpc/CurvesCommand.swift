// `mlpc curves RUN_DIR...`: the learning curves of one or more runs in one SVG picture, for
// comparing them (every run also writes its own curves.svg).

import ArgumentParser
import Foundation
import MLPCore

extension MLPCCommand {
  struct CurvesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "curves", abstract: "Draw the learning curves of runs as one SVG picture.")

    @Argument(help: "Run directories.")
    var runs: [String]

    @Option(help: "Write the SVG here instead of standard output.")
    var out: String?

    func validate() throws {
      if let out, let conflict = outputConflict(out, inputs: runs) {
        throw ValidationError(conflict)
      }
    }

    func run() throws {
      var series: [(label: String, epochs: [EpochReport])] = []
      for run in runs {
        // Streamed: a run of any number of epochs is drawn from at most 2000 evenly spaced ones.
        var sample = EvenSample<EpochReport>(limit: 1000)
        let file = run + "/metrics.jsonl"
        switch EpochReport.read(file, each: { sample.add($0) }) {
        case .failure(let problem):
          throw CleanError("'\(safeText(file))' \(problem.reason)")
        case .success(0): throw CleanError("'\(safeText(run))' has no metrics.jsonl with epochs")
        case .success: series.append((label(run), sample.values))
        }
      }
      let sink = try OutputSink(path: out)
      sink.write(Curves.svg(series))
      try sink.finish()
    }
  }
}

/// A run's name in the legend: its folder's name ("." and ".." resolved to theirs).
func label(_ run: String) -> String {
  let name = PathText.lastComponent(run)
  return name == "." || name == ".." || name.isEmpty
    ? PathText.lastComponent(canonicalPath(run)) : name
}

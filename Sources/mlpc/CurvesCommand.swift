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
        let metrics = EpochReport.lines(ofFile: run + "/metrics.jsonl")
        if metrics.isEmpty { throw CleanError("'\(run)' has no metrics.jsonl with epochs") }
        series.append((URL(fileURLWithPath: run).lastPathComponent, metrics))
      }
      let sink = try OutputSink(path: out)
      sink.write(Curves.svg(series))
      try sink.finish()
    }
  }
}

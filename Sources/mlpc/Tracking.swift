// `--mlflow URI` (or MLFLOW_TRACKING_URI): where `mlpc run`, `mlpc sweep` and `mlpc export`
// track to. Credentials come only from MLflow's environment variables.

import ArgumentParser
import Foundation
import MLPCore

struct TrackingArguments: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Track the run in the MLflow server at this http(s) URI (default: MLFLOW_TRACKING_URI; experiment MLFLOW_EXPERIMENT_NAME, else the spec's name).",
      valueName: "uri"))
  var mlflow: String?

  /// The sweep's MLflow run, given by `mlpc sweep` to the runs it starts.
  @Option(help: .hidden)
  var mlflowParent: String?

  /// The tracking of a run of the spec named `name`; nil when no server is named. An unusable
  /// --mlflow is an error; an unusable MLFLOW_TRACKING_URI a warning.
  func options(experiment name: String) throws -> TrackingOptions? {
    let resolved = MLflowServer.resolve(option: mlflow, defaultExperiment: name)
    if let problem = resolved.problem { throw CleanError(problem) }
    if let warning = resolved.warning { Console.err("warning: \(warning)\n") }
    return resolved.server.map {
      TrackingOptions(server: $0, parentRunID: mlflowParent) {
        Console.err("warning: \($0)\n")
      }
    }
  }
}

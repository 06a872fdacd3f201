// `mlpc evaluate MODEL_OR_RUN DATA.csv`: the model's metrics on a labelled CSV file, streamed in
// batches: loss, accuracy, per-class precision/recall/F1/support with macro and weighted
// averages, the confusion matrix and ROC-AUC (two classes); or loss and per-target MSE, MAE, R².

import ArgumentParser
import Foundation
import MLPCore

extension MLPCCommand {
  struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Evaluate a trained model on a labelled CSV file.")

    @OptionGroup var input: ModelDataOptions

    @Option(help: "Output: text or json.")
    var format: EvaluationFormat = .text

    func run() throws {
      var diagnostics: [Diagnostic] = []
      defer { printDiagnostics(diagnostics) }
      let (predictor, reader, columns) = try input.open(
        columns: { [$0.features, $0.targets] }, diagnostics: &diagnostics)
      let (features, targets) = (columns[0], columns[1])
      let d = predictor.model.description
      var problem: Diagnostic?
      let report: any EvaluationReport
      if let classes = predictor.classes {
        var metrics = ClassificationMetrics(classes: classes)
        let ok = predictor.stream(reader, features: features, diagnostics: &diagnostics) {
          record, out in
          guard problem == nil else { return }
          guard let label = classes.firstIndex(of: record.text(targets[0])) else {
            problem = Diagnostic(
              .labelOutOfRange,
              "label '\(record.text(targets[0]).prefix(40))' is not a class of the model",
              at: record.location(targets[0]),
              notes: [
                DiagnosticNote(
                  "classes: \(classes.prefix(10).map { "'\($0)'" }.joined(separator: ", "))")
              ])
            return
          }
          let cells = predictor.cells(out, probabilities: false)
          metrics.add(
            label: label, probabilities: predictor.classProbabilities(out),
            predicted: classes.firstIndex(of: cells[0])!)
        }
        guard ok, problem == nil else { throw failure(problem, &diagnostics) }
        report = metrics.report
      } else {
        var metrics = RegressionMetrics(targets: d.targets)
        let ok = predictor.stream(reader, features: features, diagnostics: &diagnostics) {
          record, out in
          guard problem == nil else { return }
          var y: [Float] = []
          for t in targets {
            guard let v = record.number(t) else {
              problem = Diagnostic(
                .badData, "'\(record.text(t).prefix(40))' is not a number", at: record.location(t))
              return
            }
            y.append(v)
          }
          metrics.add(truth: y, prediction: out)
        }
        guard ok, problem == nil else { throw failure(problem, &diagnostics) }
        report = metrics.report
      }
      Console.out(format == .json ? JSONRecord.document(report) + "\n" : report.text)
    }

    private func failure(_ problem: Diagnostic?, _ diagnostics: inout [Diagnostic]) -> ExitCode {
      if let problem { diagnostics.append(problem) }
      return .failure
    }
  }
}

/// `--format` of `mlpc evaluate`.
enum EvaluationFormat: String, ExpressibleByArgument, CaseIterable {
  case text, json
}

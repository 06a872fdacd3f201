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
      let (predictor, reader, columns, width) = try input.open(
        columns: { [$0.features, $0.targets] }, diagnostics: &diagnostics)
      let (features, targets) = (columns[0], columns[1])
      let d = predictor.model.description
      var problem: Diagnostic?
      let report: any EvaluationReport
      if let classes = predictor.classes {
        var metrics = ClassificationMetrics(classes: classes)
        let ok = predictor.stream(
          reader, features: features, texts: targets, width: width, diagnostics: &diagnostics
        ) {
          record, out in
          guard problem == nil else { return }
          // Labels are read as the checker reads them: spaces around do not count.
          let text = record.trimmedText(targets[0])
          guard let label = classes.firstIndex(of: text) else {
            problem = Diagnostic(
              .labelOutOfRange,
              "label '\(safeText(String(text.prefix(40))))' is not a class of the model",
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
        let ok = predictor.stream(
          reader, features: features, numbers: targets, width: width, diagnostics: &diagnostics
        ) {
          record, out in
          // Every target cell was checked to be a number.
          let values = predictor.targetValues(out)
          values.withUnsafeBufferPointer {
            metrics.add(truth: targets.map { record.number($0)! }, prediction: $0)
          }
        }
        guard ok, problem == nil else { throw failure(problem, &diagnostics) }
        report = metrics.report
      }
      diagnostics += predictor.unseenWarnings(file: input.data)
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

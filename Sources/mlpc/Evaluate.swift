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

    @Flag(help: "An ensemble's: each member's loss and accuracy (or R²) alone too.")
    var members = false

    func run() throws {
      var diagnostics: [Diagnostic] = []
      defer { printDiagnostics(diagnostics) }
      let (predictor, reader, columns, width) = try input.open(
        columns: { [$0.features, $0.targets] }, diagnostics: &diagnostics)
      let (features, targets) = (columns[0], columns[1])
      let d = predictor.model.description
      let k = predictor.model.network.members
      guard !members || k > 1 else {
        throw CleanError("--members applies to an ensemble; this model is a single network")
      }
      var problem: Diagnostic?
      let report: any EvaluationReport
      // Each member alone (--members): loss and accuracy, or loss and R².
      var memberRows: [(loss: Double, score: Double)] = []
      if let classes = predictor.classes {
        var metrics = ClassificationMetrics(classes: classes)
        var each = members ? (0..<k).map { _ in ClassificationMetrics(classes: classes) } : []
        let ok = predictor.stream(
          reader, features: features, texts: targets, skippingMissing: targets, width: width,
          diagnostics: &diagnostics
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
          guard members else { return }
          for (m, own) in predictor.memberOutputs().enumerated() {
            each[m].add(
              label: label, probabilities: predictor.classProbabilities(own),
              predicted: classes.firstIndex(of: predictor.cells(own, probabilities: false)[0])!)
          }
        }
        guard ok, problem == nil else { throw failure(problem, &diagnostics) }
        report = metrics.report
        memberRows = each.map { ($0.loss, $0.accuracy) }
      } else {
        var metrics = RegressionMetrics(targets: d.targets)
        var each = members ? (0..<k).map { _ in RegressionMetrics(targets: d.targets) } : []
        let ok = predictor.stream(
          reader, features: features, numbers: targets, skippingMissing: targets, width: width,
          diagnostics: &diagnostics
        ) {
          record, out in
          // Every target cell was checked to be a number.
          let truth = targets.map { record.number($0)! }
          predictor.targetValues(out).withUnsafeBufferPointer {
            metrics.add(truth: truth, prediction: $0)
          }
          guard members else { return }
          for (m, own) in predictor.memberOutputs().enumerated() {
            predictor.targetValues(own).withUnsafeBufferPointer {
              each[m].add(truth: truth, prediction: $0)
            }
          }
        }
        guard ok, problem == nil else { throw failure(problem, &diagnostics) }
        report = metrics.report
        memberRows = each.map { ($0.loss, $0.r2.reduce(0, +) / Double(max($0.r2.count, 1))) }
      }
      // Rows without a target are dropped as training dropped them, and said so.
      diagnostics += predictor.skippedWarning(file: input.data)
      diagnostics += predictor.unseenWarnings(file: input.data)
      let score = predictor.classes == nil ? "r2" : "accuracy"
      if format == .json {
        let rows = memberRows.map { ["loss": $0.loss, score: $0.score] }
        Console.out(
          JSONRecord.document(MembersReport(report: report, members: members ? rows : nil))
            + "\n")
      } else {
        var text = report.text
        if members {
          text += "\neach member alone:\nmember  loss      \(score)\n"
          for (m, row) in memberRows.enumerated() {
            text +=
              String(m + 1).padding(toLength: 8, withPad: " ", startingAt: 0)
              + String(format: "%.4f    %.4f\n", row.loss, row.score)
          }
        }
        Console.out(text)
      }
    }

    /// The report, and with --members each member's loss and score, as one JSON document.
    struct MembersReport: Encodable {
      var report: any EvaluationReport
      var members: [[String: Double]]?

      func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        guard let members else { return }
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(members, forKey: Key(stringValue: "members")!)
      }

      struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
      }
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

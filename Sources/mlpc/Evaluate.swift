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
      let report: [String: Any]
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
        report = metrics.dictionary
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
        report = metrics.dictionary
      }
      Console.out(
        format == .json ? JSONRecord.document(object: report) + "\n" : evaluationText(report))
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

/// The text form of an evaluation report: a summary line, then a table per class (or target)
/// and, for classification, the confusion matrix with true classes as rows.
func evaluationText(_ r: [String: Any]) -> String {
  let f = { (x: Any?) in String(format: "%.4f", (x as? Double) ?? .nan) }
  var out = "\(r["rows"] as? Int ?? 0) rows, loss \(f(r["loss"]))"
  var table: [[String]]
  if let classes = r["classes"] as? [String], let perClass = r["per_class"] as? [[String: Any]] {
    out += ", accuracy \(f(r["accuracy"]))" + (r["roc_auc"].map { ", ROC-AUC \(f($0))" } ?? "")
    table = [["class", "precision", "recall", "f1", "support"]]
    for m in perClass {
      table.append([
        m["class"] as! String, f(m["precision"]), f(m["recall"]), f(m["f1"]),
        "\(m["support"] as! Int)",
      ])
    }
    for name in ["macro_avg", "weighted_avg"] {
      let a = r[name] as! [String: Double]
      table.append([
        name.replacingOccurrences(of: "_", with: " "), f(a["precision"]), f(a["recall"]),
        f(a["f1"]), "",
      ])
    }
    out += "\n\n" + textTable(table)
    let confusion = r["confusion_matrix"] as! [[Int]]
    table = [["true \\ predicted"] + classes]
    for (c, row) in confusion.enumerated() { table.append([classes[c]] + row.map(String.init)) }
  } else {
    table = [["target", "mse", "mae", "r2"]]
    for m in r["targets"] as! [[String: Any]] {
      table.append([m["target"] as! String, f(m["mse"]), f(m["mae"]), f(m["r2"])])
    }
    let a = r["average"] as! [String: Double]
    table.append(["average", f(a["mse"]), f(a["mae"]), f(a["r2"])])
  }
  return out + "\n" + textTable(table)
}

/// Columns padded to their widest cell, the first left-aligned and the rest right-aligned.
func textTable(_ rows: [[String]]) -> String {
  let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max()! }
  return rows.map { row in
    row.enumerated().map { c, cell in
      let pad = String(repeating: " ", count: widths[c] - cell.count)
      return c == 0 ? cell + pad : pad + cell
    }.joined(separator: "  ").replacingOccurrences(of: " +$", with: "", options: .regularExpression)
      + "\n"
  }.joined()
}

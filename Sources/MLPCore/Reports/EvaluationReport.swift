// `mlpc evaluate`'s report of a model on labelled rows, as a record (`--format json`, written by
// JSONRecord) and as text: a summary line, a table per class (or target) and, for
// classification, the confusion matrix with true classes as rows.

import Foundation

/// An evaluation's record and its text.
public protocol EvaluationReport: Encodable {
  var text: String { get }
}

/// Precision, recall and F1 (of a class, or an average over classes).
public struct ClassScores: Encodable, Sendable {
  public var precision: Double
  public var recall: Double
  public var f1: Double
}

/// A classification evaluation: loss, accuracy, per-class scores with their averages, the
/// confusion matrix (true classes as rows) and, for two classes, ROC-AUC.
public struct ClassificationReport: EvaluationReport, Sendable {
  public struct PerClass: Encodable, Sendable {
    public var `class`: String
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var support: Int
  }

  public var task = "classification"
  public var rows: Int
  public var loss: Double
  public var accuracy: Double
  public var classes: [String]
  public var confusionMatrix: [[Int]]
  public var macroAvg: ClassScores
  public var weightedAvg: ClassScores
  public var perClass: [PerClass]
  public var rocAUC: Double?
  /// With more than two classes: each class's one-vs-rest area (`roc_auc` is their mean).
  public var rocAUCPerClass: [Double?]?

  enum CodingKeys: String, CodingKey {
    case task, rows, loss, accuracy, classes
    case confusionMatrix = "confusion_matrix"
    case macroAvg = "macro_avg"
    case weightedAvg = "weighted_avg"
    case perClass = "per_class"
    case rocAUC = "roc_auc"
    case rocAUCPerClass = "roc_auc_per_class"
  }

  public var text: String {
    var out = "\(rows) rows, loss \(fixed(loss)), accuracy \(fixed(accuracy))"
    let perClassAUC = rocAUCPerClass ?? []
    if let rocAUC {
      out +=
        perClassAUC.isEmpty
        ? ", ROC-AUC \(fixed(rocAUC))" : ", ROC-AUC \(fixed(rocAUC)) (one-vs-rest, macro)"
    }
    var table = [
      ["class", "precision", "recall", "f1", "support"] + (perClassAUC.isEmpty ? [] : ["roc_auc"])
    ]
    for (c, m) in perClass.enumerated() {
      table.append(
        [m.class, fixed(m.precision), fixed(m.recall), fixed(m.f1), "\(m.support)"]
          + (perClassAUC.isEmpty ? [] : [perClassAUC[c].map(fixed) ?? "-"]))
    }
    for (name, a) in [("macro avg", macroAvg), ("weighted avg", weightedAvg)] {
      table.append(
        [name, fixed(a.precision), fixed(a.recall), fixed(a.f1), ""]
          + (perClassAUC.isEmpty ? [] : [name == "macro avg" ? rocAUC.map(fixed) ?? "-" : ""]))
    }
    out += "\n\n" + textTable(table)
    var matrix = [["true \\ predicted"] + classes]
    for (c, row) in confusionMatrix.enumerated() {
      matrix.append([classes[c]] + row.map(String.init))
    }
    return out + "\n" + textTable(matrix)
  }
}

extension ClassificationMetrics {
  /// The report of the rows added so far.
  public var report: ClassificationReport {
    let scores = { (weighted: Bool) in
      let a = self.average(weighted: weighted)
      return ClassScores(precision: a.precision, recall: a.recall, f1: a.f1)
    }
    return ClassificationReport(
      rows: count, loss: loss, accuracy: accuracy, classes: classes, confusionMatrix: confusion,
      macroAvg: scores(false), weightedAvg: scores(true),
      perClass: classes.indices.map { c in
        let m = perClass(c)
        return ClassificationReport.PerClass(
          class: classes[c], precision: m.precision, recall: m.recall, f1: m.f1,
          support: m.support)
      }, rocAUC: rocAUC, rocAUCPerClass: classes.count > 2 ? oneVsRest : nil)
  }
}

/// A regression evaluation: loss, and MSE, MAE and R² per target and on average.
public struct RegressionReport: EvaluationReport, Sendable {
  public struct Errors: Encodable, Sendable {
    public var target: String?
    public var mse: Double
    public var mae: Double
    public var r2: Double
  }

  public var task = "regression"
  public var rows: Int
  public var loss: Double
  public var targets: [Errors]
  public var average: Errors

  public var text: String {
    var table = [["target", "mse", "mae", "r2"]]
    for m in targets + [average] {
      table.append([m.target ?? "average", fixed(m.mse), fixed(m.mae), fixed(m.r2)])
    }
    return "\(rows) rows, loss \(fixed(loss))\n" + textTable(table)
  }
}

extension RegressionMetrics {
  /// The report of the rows added so far.
  public var report: RegressionReport {
    let (mse, mae, r2) = (self.mse, self.mae, self.r2)
    let mean = { (v: [Double]) in v.reduce(0, +) / Double(max(v.count, 1)) }
    return RegressionReport(
      rows: rows, loss: loss,
      targets: targets.indices.map {
        RegressionReport.Errors(target: targets[$0], mse: mse[$0], mae: mae[$0], r2: r2[$0])
      },
      average: RegressionReport.Errors(target: nil, mse: mean(mse), mae: mean(mae), r2: mean(r2)))
  }
}

private func fixed(_ x: Double) -> String { String(format: "%.4f", x) }

/// Columns padded to their widest cell, the first left-aligned and the rest right-aligned.
public func textTable(_ rows: [[String]]) -> String {
  let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max()! }
  return rows.map { row in
    row.enumerated().map { c, cell in
      let pad = String(repeating: " ", count: widths[c] - cell.count)
      return c == 0 ? cell + pad : pad + cell
    }.joined(separator: "  ").replacingOccurrences(of: " +$", with: "", options: .regularExpression)
      + "\n"
  }.joined()
}

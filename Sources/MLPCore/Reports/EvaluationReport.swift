// `mlpc evaluate`'s report of a model on labelled rows, as a record (`--format json`, written by
// JSONRecord) and as text: a summary line, a table per class (or target) and, for
// classification, the confusion matrix with true classes as rows.

import Foundation

/// An evaluation's record and its text.
public protocol EvaluationReport: Encodable {
  var text: String { get }
}

/// Precision, recall and F1 (of a class, or an average over classes).
struct ClassScores: Encodable {
  var precision: Double
  var recall: Double
  var f1: Double
}

extension ClassificationMetrics: EvaluationReport {
  private struct PerClass: Encodable {
    var `class`: String
    var precision: Double
    var recall: Double
    var f1: Double
    var support: Int
  }

  private enum Key: String, CodingKey {
    case task, rows, loss, accuracy, classes
    case confusionMatrix = "confusion_matrix"
    case macroAvg = "macro_avg"
    case weightedAvg = "weighted_avg"
    case perClass = "per_class"
    case rocAUC = "roc_auc"
  }

  private func scores(weighted: Bool) -> ClassScores {
    let a = average(weighted: weighted)
    return ClassScores(precision: a.precision, recall: a.recall, f1: a.f1)
  }

  private var perClassRows: [PerClass] {
    classes.indices.map { c in
      let m = perClass(c)
      return PerClass(
        class: classes[c], precision: m.precision, recall: m.recall, f1: m.f1, support: m.support)
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Key.self)
    try c.encode("classification", forKey: .task)
    try c.encode(count, forKey: .rows)
    try c.encode(loss, forKey: .loss)
    try c.encode(accuracy, forKey: .accuracy)
    try c.encode(classes, forKey: .classes)
    try c.encode(confusion, forKey: .confusionMatrix)
    try c.encode(scores(weighted: false), forKey: .macroAvg)
    try c.encode(scores(weighted: true), forKey: .weightedAvg)
    try c.encode(perClassRows, forKey: .perClass)
    try c.encodeIfPresent(rocAUC, forKey: .rocAUC)
  }

  public var text: String {
    var out = "\(count) rows, loss \(fixed(loss)), accuracy \(fixed(accuracy))"
    if let rocAUC { out += ", ROC-AUC \(fixed(rocAUC))" }
    var table = [["class", "precision", "recall", "f1", "support"]]
    for m in perClassRows {
      table.append([m.class, fixed(m.precision), fixed(m.recall), fixed(m.f1), "\(m.support)"])
    }
    for (name, a) in [
      ("macro avg", scores(weighted: false)), ("weighted avg", scores(weighted: true)),
    ] {
      table.append([name, fixed(a.precision), fixed(a.recall), fixed(a.f1), ""])
    }
    out += "\n\n" + textTable(table)
    var matrix = [["true \\ predicted"] + classes]
    for (c, row) in confusion.enumerated() { matrix.append([classes[c]] + row.map(String.init)) }
    return out + "\n" + textTable(matrix)
  }
}

extension RegressionMetrics: EvaluationReport {
  private struct Target: Encodable {
    var target: String
    var mse: Double
    var mae: Double
    var r2: Double
  }

  private struct Average: Encodable {
    var mse: Double
    var mae: Double
    var r2: Double
  }

  private enum Key: String, CodingKey {
    case task, rows, loss, targets, average
  }

  private var targetRows: [Target] {
    let (mse, mae, r2) = (self.mse, self.mae, self.r2)
    return targets.indices.map {
      Target(target: targets[$0], mse: mse[$0], mae: mae[$0], r2: r2[$0])
    }
  }

  private var averages: Average {
    let mean = { (v: [Double]) in v.reduce(0, +) / Double(max(v.count, 1)) }
    return Average(mse: mean(mse), mae: mean(mae), r2: mean(r2))
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Key.self)
    try c.encode("regression", forKey: .task)
    try c.encode(rows, forKey: .rows)
    try c.encode(loss, forKey: .loss)
    try c.encode(targetRows, forKey: .targets)
    try c.encode(averages, forKey: .average)
  }

  public var text: String {
    var table = [["target", "mse", "mae", "r2"]]
    for m in targetRows { table.append([m.target, fixed(m.mse), fixed(m.mae), fixed(m.r2)]) }
    let a = averages
    table.append(["average", fixed(a.mse), fixed(a.mae), fixed(a.r2)])
    return "\(rows) rows, loss \(fixed(loss))\n" + textTable(table)
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

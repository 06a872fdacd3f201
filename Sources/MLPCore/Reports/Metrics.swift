// Metrics of predictions against known answers, accumulated row by row so a file of any size
// streams through: for classification the loss, accuracy, the confusion matrix and from it
// per-class precision, recall, F1 and support with macro and weighted averages, and ROC-AUC for
// two classes; for regression the loss and per-target MSE, MAE and R² with their averages.
// Definitions follow scikit-learn's: the precision of a class never predicted is 0 (its
// `zero_division=0`), and averages are over classes (macro) or weighted by support.

import Foundation

/// Classification metrics over streamed rows.
public struct ClassificationMetrics: Sendable {
  public let classes: [String]
  /// confusion[true][predicted]
  public private(set) var confusion: [[Int]]
  private var lossSum = 0.0
  /// Every row's class probabilities (row-major) and true class, for ROC-AUC.
  private var probabilities: [Float] = []
  private var labels: [Int] = []

  public init(classes: [String]) {
    self.classes = classes
    confusion = Array(repeating: Array(repeating: 0, count: classes.count), count: classes.count)
  }

  /// Adds one row: its true class and the predicted probabilities of every class.
  public mutating func add(label: Int, probabilities p: [Float], predicted: Int) {
    confusion[label][predicted] += 1
    lossSum -= log(max(Double(p[label]), Double(Float.leastNonzeroMagnitude)))
    probabilities += p.prefix(classes.count)
    labels.append(label)
  }

  public var count: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }
  /// Mean cross-entropy −log p(true class).
  public var loss: Double { lossSum / Double(max(count, 1)) }
  public var accuracy: Double {
    Double(classes.indices.reduce(0) { $0 + confusion[$1][$1] }) / Double(max(count, 1))
  }

  /// Precision, recall, F1 and support of class `c`.
  public func perClass(_ c: Int) -> (precision: Double, recall: Double, f1: Double, support: Int) {
    let hit = Double(confusion[c][c])
    let predicted = Double(classes.indices.reduce(0) { $0 + confusion[$1][c] })
    let support = confusion[c].reduce(0, +)
    let precision = predicted > 0 ? hit / predicted : 0
    let recall = support > 0 ? hit / Double(support) : 0
    let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
    return (precision, recall, f1, support)
  }

  /// Unweighted (macro) and support-weighted averages of precision, recall and F1.
  public func average(weighted: Bool) -> (precision: Double, recall: Double, f1: Double) {
    var sums = (0.0, 0.0, 0.0)
    var total = 0.0
    for c in classes.indices {
      let m = perClass(c)
      let w = weighted ? Double(m.support) : 1
      sums = (sums.0 + w * m.precision, sums.1 + w * m.recall, sums.2 + w * m.f1)
      total += w
    }
    let t = max(total, 1e-300)
    return (sums.0 / t, sums.1 / t, sums.2 / t)
  }

  /// Area under the ROC curve: for two classes, of the second class's probability; for more,
  /// the unweighted mean of the one-vs-rest areas (scikit-learn's `roc_auc_score(multi_class=
  /// 'ovr')`); nil when a class has no row or every row is of it.
  public var rocAUC: Double? {
    if classes.count == 2 { return auc(ofClass: 1) }
    let areas = oneVsRest
    guard !areas.isEmpty, !areas.contains(nil) else { return nil }
    return areas.reduce(0) { $0 + $1! } / Double(areas.count)
  }

  /// Each class's one-vs-rest area (its probability against the others), nil when undefined;
  /// empty for two classes.
  public var oneVsRest: [Double?] {
    classes.count > 2 ? classes.indices.map { auc(ofClass: $0) } : []
  }

  /// The area of class `c`'s probability as a score for "the row is of class c" (the
  /// Mann–Whitney statistic, ties counted half).
  func auc(ofClass c: Int) -> Double? {
    let k = classes.count
    let scores = labels.indices.map {
      (score: probabilities[$0 * k + c], positive: labels[$0] == c)
    }
    let positives = scores.count { $0.positive }
    let negatives = scores.count - positives
    guard positives > 0, negatives > 0 else { return nil }
    let sorted = scores.sorted { $0.score < $1.score }
    var rankSum = 0.0
    var i = 0
    while i < sorted.count {
      var j = i
      while j + 1 < sorted.count, sorted[j + 1].score == sorted[i].score { j += 1 }
      let rank = Double(i + j) / 2 + 1
      for k in i...j where sorted[k].positive { rankSum += rank }
      i = j + 1
    }
    let p = Double(positives)
    return (rankSum - p * (p + 1) / 2) / (p * Double(negatives))
  }
}

/// Regression metrics over streamed rows, per target and averaged (scikit-learn's
/// `uniform_average`). R² of a target whose values are all equal is 1 for perfect predictions
/// and 0 otherwise, as scikit-learn's `r2_score` reports it.
public struct RegressionMetrics: Sendable {
  public let targets: [String]
  private var count = 0
  private var squared: [Double]
  private var absolute: [Double]
  private var sum: [Double]
  private var sumOfSquares: [Double]

  public init(targets: [String]) {
    self.targets = targets
    let zeros = [Double](repeating: 0, count: targets.count)
    (squared, absolute, sum, sumOfSquares) = (zeros, zeros, zeros, zeros)
  }

  public mutating func add(truth y: [Float], prediction x: UnsafeBufferPointer<Float>) {
    count += 1
    for t in targets.indices {
      let (yt, d) = (Double(y[t]), Double(x[t]) - Double(y[t]))
      squared[t] += d * d
      absolute[t] += abs(d)
      sum[t] += yt
      sumOfSquares[t] += yt * yt
    }
  }

  public var rows: Int { count }
  /// Mean of ½‖y − x‖² over rows (the training objective).
  public var loss: Double { squared.reduce(0, +) / 2 / Double(max(count, 1)) }
  public var mse: [Double] { squared.map { $0 / Double(max(count, 1)) } }
  public var mae: [Double] { absolute.map { $0 / Double(max(count, 1)) } }
  public var r2: [Double] {
    targets.indices.map { t in
      let n = Double(max(count, 1))
      let total = sumOfSquares[t] - sum[t] * sum[t] / n
      if total <= 1e-12 * max(1, sumOfSquares[t]) { return squared[t] == 0 ? 1 : 0 }
      return 1 - squared[t] / total
    }
  }
}

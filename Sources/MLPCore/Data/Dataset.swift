// A data set in memory, ready for batching: features row-major (count × inputs) and targets
// row-major (count × outputs: one-hot for classification, real values for regression).

/// Samples as dense row-major Float matrices.
public struct Dataset: Sendable {
  /// count × inputs
  public var features: [Float]
  /// count × outputs
  public var targets: [Float]
  public var count: Int
  public var inputs: Int
  public var outputs: Int
  /// For classification: the class index of each sample.
  public var labels: [Int]?

  public init(features: [Float], targets: [Float], inputs: Int, outputs: Int, labels: [Int]?) {
    precondition(inputs > 0 && features.count % inputs == 0)
    self.features = features
    self.targets = targets
    self.inputs = inputs
    self.outputs = outputs
    self.count = features.count / inputs
    self.labels = labels
  }

  /// This set's rows followed by `other`'s (of the same columns).
  public func appending(_ other: Dataset) -> Dataset {
    precondition(other.inputs == inputs && other.outputs == outputs)
    let labels = self.labels.flatMap { l in other.labels.map { l + $0 } }
    return Dataset(
      features: features + other.features, targets: targets + other.targets, inputs: inputs,
      outputs: outputs, labels: labels)
  }

  /// Builds a classification set with one-hot targets for `labels` in 0..<classes.
  public static func classification(features: [Float], inputs: Int, labels: [Int], classes: Int)
    -> Dataset
  {
    var targets = [Float](repeating: 0, count: labels.count * classes)
    for (i, label) in labels.enumerated() where label >= 0 && label < classes {
      targets[i * classes + label] = 1
    }
    return Dataset(
      features: features, targets: targets, inputs: inputs, outputs: classes, labels: labels)
  }

  /// The samples at `indices`, in that order.
  public func subset(_ indices: [Int]) -> Dataset {
    var f = [Float]()
    f.reserveCapacity(indices.count * inputs)
    var t = [Float]()
    t.reserveCapacity(indices.count * outputs)
    for i in indices {
      f.append(contentsOf: features[i * inputs..<(i + 1) * inputs])
      t.append(contentsOf: targets[i * outputs..<(i + 1) * outputs])
    }
    return Dataset(
      features: f, targets: t, inputs: inputs, outputs: outputs,
      labels: labels.map { l in indices.map { l[$0] } })
  }

  /// Splits off the first `fraction` of a seeded permutation as a validation set; `stratified`
  /// (with labels), the same share of every class, taken in that permutation's order.
  public func split(validationFraction fraction: Double, seed: UInt64, stratified: Bool = false)
    -> (train: Dataset, validation: Dataset)
  {
    var order = Array(0..<count)
    var rng = SeededGenerator(seed: seed ^ 0x5EED_5EED)
    rng.shuffle(&order)
    let held = min(count - 1, max(1, Int((Double(count) * fraction).rounded())))
    guard stratified, let labels else {
      return (subset(Array(order[held...]).sorted()), subset(Array(order[..<held]).sorted()))
    }
    // Each class gives its share of `held`; the largest remainders decide the last few (ties
    // to the smaller class id).
    var members: [Int: [Int]] = [:]
    for i in order { members[labels[i], default: []].append(i) }
    let classes = members.keys.sorted().map { members[$0]! }
    var quota = classes.map { $0.count * held / count }
    let remainder = classes.map { $0.count * held % count }
    let byRemainder = classes.indices.sorted {
      remainder[$0] != remainder[$1] ? remainder[$0] > remainder[$1] : $0 < $1
    }
    for k in byRemainder.prefix(held - quota.reduce(0, +)) { quota[k] += 1 }
    var validation: [Int] = []
    for (k, samples) in classes.enumerated() { validation += samples.prefix(quota[k]) }
    let heldOut = Set(validation)
    return (subset((0..<count).filter { !heldOut.contains($0) }), subset(validation.sorted()))
  }
}

/// Per-feature standardisation x' = (x − mean) / std, fitted on the training split only.
public struct Standardizer: Sendable {
  public var mean: [Float]
  public var std: [Float]

  public init(mean: [Float], std: [Float]) {
    (self.mean, self.std) = (mean, std)
  }

  public init(fitting data: Dataset) {
    var mean = [Double](repeating: 0, count: data.inputs)
    var square = [Double](repeating: 0, count: data.inputs)
    for r in 0..<data.count {
      for c in 0..<data.inputs {
        let x = Double(data.features[r * data.inputs + c])
        mean[c] += x
        square[c] += x * x
      }
    }
    let n = Double(max(data.count, 1))
    self.mean = mean.map { Float($0 / n) }
    self.std = zip(mean, square).map { m, s in
      let variance = max(0, s / n - (m / n) * (m / n))
      return variance > 1e-12 ? Float(variance.squareRoot()) : 1
    }
  }

  public func apply(_ data: inout Dataset) {
    let rows = data.count
    data.features.withUnsafeMutableBufferPointer { apply($0.baseAddress!, rows: rows) }
  }

  /// Standardises `rows` rows of features in place, row-major.
  public func apply(_ x: UnsafeMutablePointer<Float>, rows: Int) {
    let inputs = mean.count
    for r in 0..<rows {
      for c in 0..<inputs { x[r * inputs + c] = (x[r * inputs + c] - mean[c]) / std[c] }
    }
  }

}

extension Dataset {
  /// Fold `k` (0-based) of `folds` for cross-validation: (the other rows, fold k's rows), both
  /// in file order. With class labels, the rows of fold k are those scikit-learn's
  /// `StratifiedKFold(n_splits=folds)` (no shuffling) tests in split k: classes in order of first
  /// appearance, each class's rows in file order dealt to the folds in runs sized by
  /// `bincount(sorted_labels[i::folds])`; without labels, `KFold(n_splits=folds)`: consecutive
  /// runs, the first `count % folds` one row longer.
  public func fold(_ k: Int, of folds: Int) -> (train: Dataset, validation: Dataset) {
    precondition(folds >= 2 && k >= 0 && k < folds && count >= folds)
    var testFold = [Int](repeating: 0, count: count)
    if let labels {
      var order: [Int: Int] = [:]
      for label in labels where order[label] == nil { order[label] = order.count }
      let encoded = labels.map { order[$0]! }
      var allocation = Array(repeating: [Int](repeating: 0, count: order.count), count: folds)
      for (j, c) in encoded.sorted().enumerated() { allocation[j % folds][c] += 1 }
      var next = [Int](repeating: 0, count: order.count)
      let dealt = (0..<order.count).map { c in
        (0..<folds).flatMap { i in [Int](repeating: i, count: allocation[i][c]) }
      }
      for r in 0..<count {
        let c = encoded[r]
        testFold[r] = dealt[c][next[c]]
        next[c] += 1
      }
    } else {
      var start = 0
      for i in 0..<folds {
        let size = count / folds + (i < count % folds ? 1 : 0)
        for r in start..<start + size { testFold[r] = i }
        start += size
      }
    }
    return (
      subset((0..<count).filter { testFold[$0] != k }),
      subset((0..<count).filter { testFold[$0] == k })
    )
  }
}

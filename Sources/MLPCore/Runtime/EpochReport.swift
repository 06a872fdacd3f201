// What an epoch reports: the training loss, the evaluation of the validation and test splits,
// the time and the learning rate; one line of metrics.jsonl each (keys in docs/run-output.md),
// written by hand for speed (`metricsLine`, byte for byte what `JSONRecord.line` writes) and
// read back as the same Codable record.

import Foundation

/// Metrics of a model on one data set.
public struct Evaluation: Sendable, Equatable {
  /// Mean loss per sample (the training objective).
  public var loss: Double
  /// Fraction of correctly classified samples (classification).
  public var accuracy: Double?
  /// Mean squared error over samples and outputs (regression).
  public var mse: Double?
  /// Mean absolute error (regression).
  public var mae: Double?
  /// Coefficient of determination, averaged over outputs (regression).
  public var r2: Double?

  public init(
    loss: Double, accuracy: Double? = nil, mse: Double? = nil, mae: Double? = nil,
    r2: Double? = nil
  ) {
    (self.loss, self.accuracy, self.mse, self.mae, self.r2) = (loss, accuracy, mse, mae, r2)
  }
}

/// What happened in one epoch.
public struct EpochReport: Sendable {
  public var epoch: Int
  public var trainLoss: Double
  public var validation: Evaluation?
  public var test: Evaluation?
  public var seconds: Double
  public var steps: Int
  /// The learning rate the epoch trained with.
  public var learningRate: Double?

  public init(
    epoch: Int, trainLoss: Double, validation: Evaluation?, test: Evaluation?, seconds: Double,
    steps: Int, learningRate: Double? = nil
  ) {
    self.learningRate = learningRate
    self.epoch = epoch
    self.trainLoss = trainLoss
    self.validation = validation
    self.test = test
    self.seconds = seconds
    self.steps = steps
  }
}

extension Evaluation: Codable {
  enum CodingKeys: String, CodingKey {
    case loss, accuracy, mse, mae, r2
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      loss: try c.decodeIfPresent(Double.self, forKey: .loss) ?? .nan,
      accuracy: try c.decodeIfPresent(Double.self, forKey: .accuracy),
      mse: try c.decodeIfPresent(Double.self, forKey: .mse),
      mae: try c.decodeIfPresent(Double.self, forKey: .mae),
      r2: try c.decodeIfPresent(Double.self, forKey: .r2))
  }

  /// One metric, when the evaluation has it.
  public subscript(_ metric: MetricName) -> Double? {
    switch metric {
    case .loss: loss
    case .accuracy: accuracy
    case .mse: mse
    case .mae: mae
    case .r2: r2
    }
  }
}

extension EpochReport: Codable {
  enum CodingKeys: String, CodingKey {
    case epoch, seconds, steps, validation, test
    case trainLoss = "train_loss"
    case learningRate = "learning_rate"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      epoch: try c.decode(Int.self, forKey: .epoch),
      trainLoss: try c.decodeIfPresent(Double.self, forKey: .trainLoss) ?? .nan,
      validation: try c.decodeIfPresent(Evaluation.self, forKey: .validation),
      test: try c.decodeIfPresent(Evaluation.self, forKey: .test),
      seconds: try c.decodeIfPresent(Double.self, forKey: .seconds) ?? .nan,
      steps: try c.decodeIfPresent(Int.self, forKey: .steps) ?? 0,
      learningRate: try c.decodeIfPresent(Double.self, forKey: .learningRate))
  }

  /// A metric of a split after this epoch (the training split has its loss only).
  public func value(_ metric: MetricName, on split: Split) -> Double? {
    switch split {
    case .train: metric == .loss ? trainLoss : nil
    case .validation: validation?[metric]
    case .test: test?[metric]
    }
  }

  /// The lines of a metrics.jsonl file, in order (lines that are not records are skipped).
  public static func lines(ofFile path: String) -> [EpochReport] {
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap {
      JSONRecord.decode(EpochReport.self, from: Data($0.utf8))
    }
  }
}

extension EpochReport {
  /// The `metrics.jsonl` line of `dictionary`, written directly (JSONSerialization costs about
  /// 45 µs a line, more than a W2 epoch of ten steps): keys sorted, non-finite numbers as null
  /// listed under `non_finite`, as `JSONRecord.line` writes them.
  public var metricsLine: String {
    // Built by appending to two strings (the fields before and after `non_finite`, which lists
    // what the later ones hold): arrays of parts joined cost about 1.5 µs a line, a tenth of a
    // W2 epoch.
    var nonFinite: [String] = []
    func append(_ key: String, _ x: Double, path: String, to line: inout String) {
      line += "\"" + key + "\":"
      if x.isFinite {
        line += x.description
      } else {
        nonFinite.append(path)
        line += "null"
      }
    }
    func append(_ e: Evaluation, _ split: String, to line: inout String) {
      line += "\"" + split + "\":{"
      var first = true
      for (key, value) in [
        ("accuracy", e.accuracy), ("loss", e.loss), ("mae", e.mae), ("mse", e.mse), ("r2", e.r2),
      ] {
        guard let value else { continue }
        if !first { line += "," }
        first = false
        append(key, value, path: split + "." + key, to: &line)
      }
      line += "}"
    }
    var rest = ""
    rest.reserveCapacity(128)
    append("seconds", seconds, path: "seconds", to: &rest)
    rest += ",\"steps\":" + String(steps)
    if let test {
      rest += ","
      append(test, "test", to: &rest)
    }
    rest += ","
    append("train_loss", trainLoss, path: "train_loss", to: &rest)
    if let validation {
      rest += ","
      append(validation, "validation", to: &rest)
    }
    var line = "{\"epoch\":" + String(epoch)
    line.reserveCapacity(rest.utf8.count + 64)
    if let learningRate {
      line += ","
      append("learning_rate", learningRate, path: "learning_rate", to: &line)
    }
    if !nonFinite.isEmpty {
      line += ",\"non_finite\":[" + nonFinite.sorted().map { "\"\($0)\"" }.joined(separator: ",")
      line += "]"
    }
    return line + "," + rest + "}"
  }
}

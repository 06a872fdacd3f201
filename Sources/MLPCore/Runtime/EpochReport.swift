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

  /// The lines of a metrics.jsonl file of a run, in order (lines that are not records are
  /// skipped; a file that cannot be read, or is a link, gives none).
  public static func lines(ofFile path: String) -> [EpochReport] {
    var out: [EpochReport] = []
    _ = read(path) { out.append($0) }
    return out
  }

  /// The longest metrics line read (a longer one is skipped, not collected).
  static let maximumLineBytes = 1 << 20

  /// Streams the records of the metrics.jsonl file of a run at `path` (a regular file in the run,
  /// never a link out of it) to `each`, a megabyte at a time, so a run of any length is read in
  /// bounded memory. The number of records, or why the file cannot be read.
  public static func read(_ path: String, each: (EpochReport) -> Void) -> Result<Int, FileProblem> {
    let file: RegularFile
    switch RegularFile.open(path, followingLinks: false) {
    case .failure(let problem): return .failure(problem)
    case .success(let opened): file = opened
    }
    defer { close(file.descriptor) }
    var count = 0
    var line: [UInt8] = []
    var skipping = false
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    func finish() {
      if !skipping, !line.isEmpty,
        let report = JSONRecord.decode(EpochReport.self, from: Data(line))
      {
        each(report)
        count += 1
      }
      line.removeAll(keepingCapacity: true)
      skipping = false
    }
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(file.descriptor, $0.baseAddress, $0.count) }
      if n < 0, errno == EINTR || errno == EAGAIN { continue }
      if n < 0 { return .failure(FileProblem(path: path, errno: errno)) }
      if n == 0 { break }
      var start = 0
      for i in 0..<n where chunk[i] == UInt8(ascii: "\n") {
        if !skipping { line.append(contentsOf: chunk[start..<i]) }
        finish()
        start = i + 1
      }
      if !skipping { line.append(contentsOf: chunk[start..<n]) }
      if line.count > maximumLineBytes {
        line.removeAll(keepingCapacity: true)
        skipping = true
      }
    }
    finish()
    return .success(count)
  }
}

/// Every `stride`-th of a stream of values, the stride doubling whenever `limit` are kept, plus
/// the last one: evenly spaced points of a series of any length in bounded memory.
public struct EvenSample<T> {
  public private(set) var kept: [T] = []
  private var stride = 1
  private var seen = 0
  private var last: T?
  let limit: Int

  public init(limit: Int) { self.limit = max(2, limit) }

  public mutating func add(_ x: T) {
    if seen % stride == 0 {
      kept.append(x)
      if kept.count >= 2 * limit {
        kept = kept.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        stride *= 2
      }
    }
    seen += 1
    last = x
  }

  /// The kept values, ending with the last one added.
  public var values: [T] {
    guard let last, seen > 0, (seen - 1) % stride != 0 else { return kept }
    return kept + [last]
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

// The records of a run, as `Codable` types written by `JSONRecord`: the summary (summary.json)
// and the resolved configuration (config.json); an epoch's line and a split's evaluation are in
// Runtime/EpochReport.swift. Their keys are documented in docs/run-output.md.

import Foundation

/// Why a run ended.
public enum Ending: Sendable, Equatable {
  case completed
  case earlyStopped(bestEpoch: Int?)
  case interrupted(epoch: Int, step: Int)
  case diverged(epoch: Int, step: Int)

  /// The `status` of summary.json.
  public var status: String {
    switch self {
    case .completed: "completed"
    case .earlyStopped: "early stopped"
    case .interrupted(let e, let s): "interrupted at epoch \(e) step \(s)"
    case .diverged(let e, let s): "diverged at epoch \(e) step \(s)"
    }
  }
}

/// summary.json: how a run ended and the metrics of the weights it saved.
public struct RunSummary: Sendable {
  public var name: String
  /// The spec file's path as given.
  public var spec: String
  public var status: String
  public var epochsPlanned: Int
  public var epochsCompleted: Int
  public var seconds: Double
  public var parameters: Int
  public var trainSamples: Int
  /// The metrics of the saved weights on each split (absent when no model was written).
  public var evaluations: [Split: Evaluation] = [:]
  /// The last finished epoch's metrics line.
  public var lastEpoch: EpochReport?
  /// With early stopping: the best epoch and its value of the monitored metric.
  public var bestEpoch: Int?
  public var best: (metric: MonitoredMetric, value: Double?)?
  public var stoppedBecause: String?
  /// The epoch whose weights the model holds when `restore_best` put them back (nil: the last).
  public var restoredEpoch: Int?
  /// With `early_stopping.refit`, once the second training has begun: the epoch of the first
  /// after which it began (its epochs follow, `best_epoch` of them), and the rows it trains on.
  public var refitAfter: Int?
  public var refitSamples: Int?
  /// Why a diverged run stopped: the parameter (or the loss) that became NaN or infinite.
  public var divergedBecause: String?
  /// With MPI: the number of processes, and whether their weights were equal at the end.
  public var ranks: Int?
  public var ranksIdentical: Bool?

  public init(
    name: String, spec: String, status: String, epochsPlanned: Int, epochsCompleted: Int,
    seconds: Double, parameters: Int, trainSamples: Int
  ) {
    (self.name, self.spec, self.status) = (name, spec, status)
    (self.epochsPlanned, self.epochsCompleted) = (epochsPlanned, epochsCompleted)
    (self.seconds, self.parameters, self.trainSamples) = (seconds, parameters, trainSamples)
  }

  /// A metric of the saved weights on a split.
  public func value(_ metric: MetricName, on split: Split) -> Double? {
    evaluations[split]?[metric]
  }
}

extension RunSummary: Codable {
  private enum Key: String, CaseIterable {
    case name, spec, status, seconds, parameters, ranks
    case epochsPlanned = "epochs_planned"
    case epochsCompleted = "epochs_completed"
    case trainSamples = "train_samples"
    case lastEpoch = "last_epoch"
    case bestEpoch = "best_epoch"
    case stoppedBecause = "stopped_because"
    case restoredEpoch = "restored_epoch"
    case divergedBecause = "diverged_because"
    case refitAfter = "refit_after"
    case refitSamples = "refit_samples"
    case ranksIdentical = "ranks_identical"
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: DynamicKey.self)
    func put<T: Encodable>(_ value: T?, _ key: Key) throws {
      try c.encodeIfPresent(value, forKey: DynamicKey(key.rawValue))
    }
    try put(name, .name)
    try put(spec, .spec)
    try put(status, .status)
    try put(seconds, .seconds)
    try put(parameters, .parameters)
    try put(epochsPlanned, .epochsPlanned)
    try put(epochsCompleted, .epochsCompleted)
    try put(trainSamples, .trainSamples)
    try put(lastEpoch, .lastEpoch)
    try put(bestEpoch, .bestEpoch)
    try put(stoppedBecause, .stoppedBecause)
    try put(restoredEpoch, .restoredEpoch)
    try put(divergedBecause, .divergedBecause)
    try put(refitAfter, .refitAfter)
    try put(refitSamples, .refitSamples)
    try put(ranks, .ranks)
    try put(ranksIdentical, .ranksIdentical)
    for (split, evaluation) in evaluations {
      try c.encode(evaluation, forKey: DynamicKey(split.rawValue))
    }
    if let best {
      try c.encode(best.value, forKey: DynamicKey("best_" + best.metric.rawValue))
    }
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: DynamicKey.self)
    func get<T: Decodable>(_ key: Key) throws -> T? {
      try c.decodeIfPresent(T.self, forKey: DynamicKey(key.rawValue))
    }
    self.init(
      name: try get(.name) ?? "", spec: try get(.spec) ?? "", status: try get(.status) ?? "",
      epochsPlanned: try get(.epochsPlanned) ?? 0, epochsCompleted: try get(.epochsCompleted) ?? 0,
      seconds: try get(.seconds) ?? .nan, parameters: try get(.parameters) ?? 0,
      trainSamples: try get(.trainSamples) ?? 0)
    lastEpoch = try get(.lastEpoch)
    bestEpoch = try get(.bestEpoch)
    stoppedBecause = try get(.stoppedBecause)
    restoredEpoch = try get(.restoredEpoch)
    divergedBecause = try get(.divergedBecause)
    refitAfter = try get(.refitAfter)
    refitSamples = try get(.refitSamples)
    ranks = try get(.ranks)
    ranksIdentical = try get(.ranksIdentical)
    for split in Split.allCases {
      evaluations[split] = try c.decodeIfPresent(
        Evaluation.self, forKey: DynamicKey(split.rawValue))
    }
    for metric in MonitoredMetric.allCases {
      let key = DynamicKey("best_" + metric.rawValue)
      if c.contains(key) { best = (metric, try c.decodeIfPresent(Double.self, forKey: key)) }
    }
  }
}

/// config.json: where the spec is, the overrides it ran with, and every setting resolved.
public struct RunConfiguration: Codable, Sendable {
  /// The spec file: relative to the run directory when it was given relative (the two can move
  /// together), else absolute. `specPath(inRun:)` resolves it.
  public var specFile: String
  /// Epochs of the run in all (`--epochs`, else the spec's).
  public var epochs: Int
  /// `--set` overrides, as given; applied again on resume.
  public var overrides: [String]
  /// The model's description (network, names, every training setting).
  public var model: ModelDescription?
  public var data: DataCounts
  /// The run's identity, the same in every resumption: a killed run's staging directory is
  /// continued only by a resume of the same run.
  public var runID: String?

  /// The sizes of the splits.
  public struct DataCounts: Codable, Sendable {
    public var trainSamples: Int
    public var validationSamples: Int
    public var testSamples: Int
    public var standardized: Bool

    enum CodingKeys: String, CodingKey {
      case standardized
      case trainSamples = "train_samples"
      case validationSamples = "validation_samples"
      case testSamples = "test_samples"
    }
  }

  /// The run or model file the weights started from (`--init-from`), as given.
  public var initFrom: String?
  /// Cross-validation: the fold validated on, "K/N" (`--fold`), kept by resumes.
  public var fold: String?

  enum CodingKeys: String, CodingKey {
    case epochs, overrides, model, data
    case specFile = "spec_file"
    case runID = "run_id"
    case initFrom = "init_from"
    case fold
  }

  /// The configuration of a run of `spec` for `epochs` in all.
  public init(
    _ spec: CheckedSpec, specPath: String, epochs: Int, overrides: [SpecOverride],
    runDirectory: String? = nil
  ) {
    let absolute = canonicalPath(specPath)
    specFile =
      specPath.hasPrefix("/") || runDirectory == nil
      ? absolute : relativePath(from: canonicalPath(runDirectory!), to: absolute)
    self.epochs = epochs
    self.overrides = overrides.map(\.text)
    model = ModelDescription(spec)
    runID = UUID().uuidString
    data = DataCounts(
      trainSamples: spec.data.train.count, validationSamples: spec.data.validation?.count ?? 0,
      testSamples: spec.data.test?.count ?? 0, standardized: spec.data.standardizer != nil)
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    specFile = try c.decode(String.self, forKey: .specFile)
    epochs = try c.decode(Int.self, forKey: .epochs)
    overrides = try c.decodeIfPresent([String].self, forKey: .overrides) ?? []
    // A description of an older format is not needed to resume: the spec is checked again.
    model = try? c.decodeIfPresent(ModelDescription.self, forKey: .model)
    data = try c.decode(DataCounts.self, forKey: .data)
    runID = try c.decodeIfPresent(String.self, forKey: .runID)
    initFrom = try c.decodeIfPresent(String.self, forKey: .initFrom)
    fold = try c.decodeIfPresent(String.self, forKey: .fold)
  }
}

extension RunConfiguration {
  /// The spec file's path for the run in `run` (a relative `specFile` is relative to it).
  public func specPath(inRun run: String) -> String {
    specFile.hasPrefix("/")
      ? specFile
      : URL(fileURLWithPath: PathText.join(canonicalPath(run), specFile)).standardized.path
  }
}

/// The path of `target` seen from the folder `base` (both absolute): "../../specs/iris.yaml".
func relativePath(from base: String, to target: String) -> String {
  let a = base.split(separator: "/")
  let b = target.split(separator: "/")
  var common = 0
  while common < min(a.count, b.count), a[common] == b[common] { common += 1 }
  let up = Array(repeating: "..", count: a.count - common)
  return (up + b[common...].map(String.init)).joined(separator: "/")
}

extension RunSummary {
  /// The summary.json of the run in `run`, read as the run's own regular file (never through a
  /// link, as every file of a run is read); nil when there is none or it is not one.
  public static func read(inRun run: String) -> RunSummary? {
    (try? RegularFile.contents(run + "/summary.json", followingLinks: false, limit: 1 << 24).get())
      .flatMap { JSONRecord.decode(RunSummary.self, from: $0) }
  }
}

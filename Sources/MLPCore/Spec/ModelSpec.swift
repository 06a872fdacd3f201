// The spec's syntax tree: what the YAML said, with a location for every value, before any
// semantic check. A value that was missing or malformed is nil here (and a diagnostic says why),
// so the checker can go on and report every other problem in the same pass.

@_exported import MLPKernels

/// A value together with where it was written.
public struct Located<Value: Sendable>: Sendable {
  public var value: Value
  public var location: SourceLocation

  public init(_ value: Value, at location: SourceLocation) {
    self.value = value
    self.location = location
  }
}

/// Whether the network predicts a class (one-hot targets) or real numbers.
public enum Task: String, CaseIterable, Sendable {
  case classification, regression
}

/// Built-in synthetic data sets.
public enum GeneratorKind: String, CaseIterable, Sendable {
  case xor, spirals, blobs, sine
}

/// One `layers:` entry.
public struct LayerSpec: Sendable {
  public var location: SourceLocation
  public var name: Located<String>?
  public var units: Located<Int>?
  public var activation: Located<Activation>?
  public var leakySlope: Located<Double>?
  public var initializer: Located<InitKind>?
}

/// The `data:` section.
public struct DataSpec: Sendable {
  public var location: SourceLocation
  /// The keys written in the spec, valid or not.
  public var keys: Set<String> = []
  public var train: Located<String>?
  public var test: Located<String>?
  public var target: [Located<String>]?
  public var features: [Located<String>]?
  public var generator: Located<GeneratorKind>?
  public var samples: Located<Int>?
  public var noise: Located<Double>?
  public var classes: Located<Int>?
  public var dimensions: Located<Int>?
  public var validationSplit: Located<Double>?
  public var standardize: Located<Bool>?
  public var delimiter: Located<String>?
}

/// The `training:` section.
public struct TrainingSpec: Sendable {
  public var location: SourceLocation?
  public var epochs: Located<Int>?
  public var batchSize: Located<Int>?
  public var learningRate: Located<Double>?
  public var optimizer: Located<OptimizerKind>?
  public var momentum: Located<Double>?
  public var beta1: Located<Double>?
  public var beta2: Located<Double>?
  public var epsilon: Located<Double>?
  public var weightDecay: Located<Double>?
  public var seed: Located<Int>?
  public var shuffle: Located<Bool>?
}

/// A parsed spec file.
public struct ModelSpec: Sendable {
  /// The spec's path as given by the user.
  public var file: String
  public var location: SourceLocation
  public var version: Located<Int>?
  public var name: Located<String>?
  public var task: Located<Task>?
  public var input: Located<Int>?
  public var layers: [LayerSpec]?
  public var layersLocation: SourceLocation?
  public var loss: Located<LossKind>?
  public var data: DataSpec?
  public var training: TrainingSpec
}

// The stable diagnostic codes. A code never changes meaning once shipped; new problems get new
// codes. `docs/diagnostics.md` explains each one and `specs/invalid/` has an example of each.

/// Every diagnostic code mlpc emits.
public enum DiagnosticCode: String, CaseIterable, Sendable, Codable {
  /// The file is not valid YAML (scanner, parser or composer error).
  case yamlSyntax = "E001"
  /// A mapping has the same key twice.
  case duplicateKey = "E002"
  /// A key that the spec format does not know.
  case unknownKey = "E003"
  /// A value of the wrong type (a string where a number belongs, a list for a mapping...).
  case wrongType = "E004"
  /// A required key is missing.
  case missingKey = "E005"
  /// A value outside a fixed set of choices (activation, loss, task, optimizer, generator).
  case unknownChoice = "E006"
  /// A size (input, units, samples...) that is not a positive whole number or is absurdly large.
  case badSize = "E007"
  /// The network would not fit in memory.
  case tooLarge = "E008"
  /// The output layer's width does not match the number of classes.
  case outputClassMismatch = "E009"
  /// The output layer's width does not match the number of regression targets.
  case outputTargetMismatch = "E010"
  /// `input` does not match the number of feature columns in the data.
  case inputMismatch = "E011"
  /// A named column is not in the data file's header.
  case unknownColumn = "E012"
  /// An integer class label outside `0 ..< units`.
  case labelOutOfRange = "E013"
  /// softmax on a layer other than the output layer.
  case softmaxHidden = "E014"
  /// A loss that does not fit the task or the output activation.
  case lossMismatch = "E015"
  /// binary_cross_entropy without exactly one sigmoid output unit.
  case binaryCrossEntropyShape = "E016"
  /// A training hyperparameter out of range.
  case hyperparameter = "E017"
  /// A data file that cannot be read.
  case fileUnreadable = "E018"
  /// A data cell or row that cannot be used (not a number, wrong number of fields...).
  case badData = "E019"
  /// An unsupported `version`.
  case unsupportedVersion = "E020"
  /// Two settings that cannot go together, or data that does not fit the task.
  case conflict = "E023"
  /// The spec is empty, binary, or not a mapping at the top.
  case notASpec = "E021"
  /// A data set too small for the split asked for, or empty.
  case emptyData = "E022"
  /// A layer name that is empty or not a plain identifier.
  case badLayerName = "E024"
  /// Two layers with one name, once default names are given.
  case duplicateLayerName = "E025"
  /// mse on softmax outputs: trains, but slowly; cross_entropy is the usual choice.
  case mseOnSoftmax = "W001"
  /// A setting that has no effect (e.g. momentum with plain sgd).
  case ignoredSetting = "W002"
  /// A class present in the test data but never in the training data, or similar data oddities.
  case dataWarning = "W003"
  /// Early stopping that watches the test set.
  case monitorsTestSet = "W004"

  /// What the checker inferred about the data (feature types), for information.
  case inferredFeatures = "N001"

  /// Errors make a spec invalid; warnings do not (unless `--strict`); notes never do.
  public var severity: Severity {
    rawValue.hasPrefix("W") ? .warning : rawValue.hasPrefix("N") ? .note : .error
  }

  /// The short name docs/diagnostics.md gives the code.
  public var title: String {
    switch self {
    case .yamlSyntax: "YAML syntax"
    case .duplicateKey: "duplicate key"
    case .unknownKey: "unknown key"
    case .wrongType: "wrong type"
    case .missingKey: "missing key"
    case .unknownChoice: "unknown choice"
    case .badSize: "bad size"
    case .tooLarge: "too large"
    case .outputClassMismatch: "output vs classes"
    case .outputTargetMismatch: "output vs targets"
    case .inputMismatch: "input mismatch"
    case .unknownColumn: "unknown column"
    case .labelOutOfRange: "label out of range"
    case .softmaxHidden: "softmax on a hidden layer"
    case .lossMismatch: "loss mismatch"
    case .binaryCrossEntropyShape: "binary_cross_entropy shape"
    case .hyperparameter: "hyperparameter"
    case .fileUnreadable: "file unreadable"
    case .badData: "bad data"
    case .unsupportedVersion: "unsupported version"
    case .conflict: "conflict"
    case .notASpec: "not a spec"
    case .emptyData: "empty data"
    case .mseOnSoftmax: "mse on softmax"
    case .ignoredSetting: "ignored setting"
    case .badLayerName: "bad layer name"
    case .duplicateLayerName: "duplicate layer name"
    case .dataWarning: "data warning"
    case .monitorsTestSet: "monitors the test set"
    case .inferredFeatures: "inferred feature types"
    }
  }
}

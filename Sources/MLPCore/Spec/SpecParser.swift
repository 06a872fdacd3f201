// Spec format v1 (docs/spec.md): YAML text → `ModelSpec`, walking Yams nodes by hand so every
// value keeps its `path:line:col`. Structure and types are checked here; meaning (shapes, loss
// against activation, data files) is the checker's job.

import Foundation
import Yams

/// Parses spec files into `ModelSpec` values with located diagnostics.
public enum SpecParser {
  static let topKeys = [
    "version", "name", "description", "task", "input", "layers", "loss", "data", "training",
  ]
  static let layerKeys = ["name", "units", "activation", "negative_slope", "init"]
  static let dataKeys = [
    "train", "test", "target", "features", "generator", "samples", "noise", "classes",
    "dimensions", "validation_split", "standardize", "delimiter",
  ]
  static let trainingKeys = [
    "epochs", "batch_size", "learning_rate", "optimizer", "momentum", "beta1", "beta2", "epsilon",
    "weight_decay", "seed", "shuffle",
  ]
  /// Files larger than this are refused before YAML parsing (specs are a few hundred bytes).
  public static let maximumFileSize = 1 << 20

  /// Reads and parses the spec at `path`.
  public static func parse(file path: String) -> (spec: ModelSpec?, diagnostics: [Diagnostic]) {
    let start = SourceLocation(file: path, line: 1, column: 1)
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
      isDirectory.boolValue
    {
      return (nil, [.error(.fileUnreadable, "'\(path)' is a directory, not a spec file", at: nil)])
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      let why = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
      return (nil, [.error(.fileUnreadable, "spec file '\(path)' \(why)", at: nil)])
    }
    defer { try? handle.close() }
    let data = (try? handle.read(upToCount: maximumFileSize + 1)) ?? Data()
    if data.count > maximumFileSize {
      return (
        nil,
        [
          .error(
            .notASpec,
            "spec file is larger than \(maximumFileSize >> 20) MiB; specs are small YAML files",
            at: start)
        ]
      )
    }
    return parse(text: String(decoding: data, as: UTF8.self), file: path)
  }

  /// Parses spec text; `file` is used for locations and the default name.
  public static func parse(text: String, file: String) -> (
    spec: ModelSpec?, diagnostics: [Diagnostic]
  ) {
    let document = YAMLDocument(text: text, file: file)
    let reader = NodeReader(file: file)
    let start = SourceLocation(file: file, line: 1, column: 1)
    guard let root = document.root else {
      if document.diagnostics.isEmpty {
        return (
          nil,
          [
            .error(
              .notASpec, "spec file is empty", at: start, help: "see docs/spec.md for a template")
          ]
        )
      }
      return (nil, document.diagnostics)
    }
    guard case .mapping = root else {
      let d = Diagnostic.error(
        .notASpec, "a spec must be a YAML mapping with keys such as 'task', 'input' and 'layers'",
        at: reader.location(root))
      return (nil, document.diagnostics + [d])
    }
    let spec = parseRoot(root, reader: reader, file: file)
    return (spec, document.diagnostics + reader.diagnostics)
  }

  private static func parseRoot(_ root: Node, reader r: NodeReader, file: String) -> ModelSpec? {
    guard let f = r.fields(root, "", allowed: topKeys) else { return nil }
    var spec = ModelSpec(
      file: file, location: f.location, training: TrainingSpec(location: nil))
    spec.version = f["version"].flatMap { r.int($0, "version") }
    spec.name = f["name"].flatMap { r.string($0, "name") }
    _ = f["description"].flatMap { r.string($0, "description") }
    spec.task = f["task"].flatMap { r.choice($0, "task", "task") }
    spec.input = f["input"].flatMap { r.int($0, "input") }
    spec.loss = f["loss"].flatMap { r.choice($0, "loss", "loss") }
    if f.values["task"] == nil {
      r.missing(
        "task", in: "", at: f.location, help: "add 'task: classification' or 'task: regression'")
    }
    if f.values["input"] == nil {
      r.missing(
        "input", in: "", at: f.location, help: "add 'input: N' with the number of input features")
    }
    if let node = f["layers"] {
      spec.layersLocation = r.location(node)
      spec.layers = parseLayers(node, reader: r)
    } else {
      r.missing("layers", in: "", at: f.location)
    }
    if let node = f["data"] {
      spec.data = parseData(node, reader: r)
    } else {
      r.missing(
        "data", in: "", at: f.location,
        help: "add 'data: {generator: xor}' or 'data: {train: FILE.csv, target: COLUMN}'")
    }
    if let node = f["training"] { spec.training = parseTraining(node, reader: r) }
    return spec
  }

  private static func parseLayers(_ node: Node, reader r: NodeReader) -> [LayerSpec]? {
    guard case .sequence(let sequence) = node else {
      _ = r.fields(node, "layers", allowed: [])  // reports the type error
      return nil
    }
    if sequence.isEmpty {
      r.report(
        .error(
          .badSize, "'layers' is empty; a network needs at least one layer", at: r.location(node)))
      return nil
    }
    return sequence.enumerated().compactMap { index, item in
      let path = "layers[\(index)]"
      guard let f = r.fields(item, path, allowed: layerKeys) else { return nil }
      var layer = LayerSpec(location: f.location)
      layer.name = f["name"].flatMap { r.string($0, "\(path).name") }
      layer.units = f["units"].flatMap { r.int($0, "\(path).units") }
      layer.activation = f["activation"].flatMap {
        r.choice($0, "\(path).activation", "activation")
      }
      layer.leakySlope = f["negative_slope"].flatMap { r.double($0, "\(path).negative_slope") }
      layer.initializer = f["init"].flatMap { r.choice($0, "\(path).init", "initializer") }
      if f.values["units"] == nil { r.missing("units", in: path, at: f.location) }
      return layer
    }
  }

  private static func parseData(_ node: Node, reader r: NodeReader) -> DataSpec? {
    guard let f = r.fields(node, "data", allowed: dataKeys) else { return nil }
    var data = DataSpec(location: f.location)
    data.keys = Set(f.values.keys)
    data.train = f["train"].flatMap { r.string($0, "data.train") }
    data.test = f["test"].flatMap { r.string($0, "data.test") }
    data.target = f["target"].flatMap { stringList($0, "data.target", reader: r) }
    data.features = f["features"].flatMap { stringList($0, "data.features", reader: r) }
    data.generator = f["generator"].flatMap { r.choice($0, "data.generator", "generator") }
    data.samples = f["samples"].flatMap { r.int($0, "data.samples") }
    data.noise = f["noise"].flatMap { r.double($0, "data.noise") }
    data.classes = f["classes"].flatMap { r.int($0, "data.classes") }
    data.dimensions = f["dimensions"].flatMap { r.int($0, "data.dimensions") }
    data.validationSplit = f["validation_split"].flatMap { r.double($0, "data.validation_split") }
    data.standardize = f["standardize"].flatMap { r.bool($0, "data.standardize") }
    data.delimiter = f["delimiter"].flatMap { r.string($0, "data.delimiter") }
    return data
  }

  private static func parseTraining(_ node: Node, reader r: NodeReader) -> TrainingSpec {
    guard let f = r.fields(node, "training", allowed: trainingKeys) else {
      return TrainingSpec(location: r.location(node))
    }
    var t = TrainingSpec(location: f.location)
    t.epochs = f["epochs"].flatMap { r.int($0, "training.epochs") }
    t.batchSize = f["batch_size"].flatMap { r.int($0, "training.batch_size") }
    t.learningRate = f["learning_rate"].flatMap { r.double($0, "training.learning_rate") }
    t.optimizer = f["optimizer"].flatMap { r.choice($0, "training.optimizer", "optimizer") }
    t.momentum = f["momentum"].flatMap { r.double($0, "training.momentum") }
    t.beta1 = f["beta1"].flatMap { r.double($0, "training.beta1") }
    t.beta2 = f["beta2"].flatMap { r.double($0, "training.beta2") }
    t.epsilon = f["epsilon"].flatMap { r.double($0, "training.epsilon") }
    t.weightDecay = f["weight_decay"].flatMap { r.double($0, "training.weight_decay") }
    t.seed = f["seed"].flatMap { r.int($0, "training.seed") }
    t.shuffle = f["shuffle"].flatMap { r.bool($0, "training.shuffle") }
    return t
  }

  /// A string, or a list of strings.
  private static func stringList(_ node: Node, _ path: String, reader r: NodeReader) -> [Located<
    String
  >]? {
    if case .sequence(let items) = node {
      let values = items.enumerated().compactMap { r.string($1, "\(path)[\($0)]") }
      if items.isEmpty {
        r.report(.error(.badSize, "'\(path)' is an empty list", at: r.location(node)))
        return nil
      }
      return values.count == items.count ? values : nil
    }
    return r.string(node, path).map { [$0] }
  }
}

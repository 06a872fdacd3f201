// The model file: `model.safetensors` whose `__metadata__` holds one JSON document describing
// everything needed to use the weights on new rows (docs/run-output.md): the network with every
// activation parameter, feature, target and class names as JSON arrays, the standardisation flag
// (its statistics are tensors), the training settings and the spec text. Reading gives back a
// `Network` that compiles to an inference plan. Files of format 1 (comma-joined names) are read
// as before, with their known limits.

import Foundation

/// The mlpc version written into model files and printed by `mlpc --version`.
public let mlpcVersion = "0.2.0"

/// Everything a model file says about its network, in JSON.
public struct ModelDescription: Codable, Sendable, Equatable {
  public static let currentFormat = 3

  public struct Layer: Codable, Sendable, Equatable {
    public var name: String
    public var units: Int
    public var activation: String
    /// The activation's parameter by its key (`negative_slope`, `alpha`), when it has one.
    public var parameters: [String: Double]
  }

  public var format: Int
  public var mlpcVersion: String
  public var name: String
  public var task: String
  public var loss: String
  /// n^0, and the feature columns in input order.
  public var input: Int
  public var features: [String]
  public var layers: [Layer]
  /// Target columns (regression) or the one label column (classification).
  public var targets: [String]
  /// Class names in output order (classification).
  public var classes: [String]?
  /// Whether inputs are standardised with the `input.mean` and `input.std` tensors.
  public var standardized: Bool
  /// Every training setting, section by section (`training`, `checkpoint`, `early_stopping`,
  /// `schedule`: `TrainingConfig.settings`), and the data's `class_weights` under `training`.
  /// Format 2 kept them as strings in one section, read as strings under `training`.
  public var training: [String: [String: SettingValue]]
  /// The spec as written.
  public var spec: String
  /// The feature transforms (format 4): `features` then names the raw columns they read, and
  /// `input` is their encoded width.
  public var transforms: FeatureEncoder? = nil
  /// Regression targets as scaled for training (format 4); outputs are inverted with it.
  public var targetScale: TargetScaler? = nil
  /// True when x^0 is multiplied by the learned `front.scale` tensor before layer 1 (absent
  /// otherwise, so other models' bytes are unchanged).
  public var frontScale: Bool? = nil
  /// An ensemble's k (TabM-mini): the output layer's tensors lead with k and the adapters are
  /// `ensemble.adapter` (k, n^0) (absent for a single network).
  public var ensemble: Int? = nil
  /// How the members share the network when it is not TabM-mini: `independent` (every layer's
  /// tensors lead with k, no adapters) or `batch_ensemble` (TabM: hidden layers with a bias per
  /// member and the scales `NAME.input_scale`, `NAME.output_scale`); absent for TabM-mini and
  /// single networks.
  public var ensembleKind: String? = nil

  enum CodingKeys: String, CodingKey {
    case format, name, task, loss, input, features, layers, targets, classes, standardized
    case training, spec, transforms, ensemble
    case ensembleKind = "ensemble_kind"
    case targetScale = "target_scale"
    case frontScale = "front_scale"
    case mlpcVersion = "mlpc_version"
  }

  /// The JSON text stored in the file (sorted keys, so equal models give equal bytes).
  public var json: String { JSONRecord.line(self) }
}

extension ModelDescription {
  /// The description of a checked spec's trained network.
  public init(_ spec: CheckedSpec) {
    let n = spec.network
    // Format 4 only when there are transforms: other models stay readable by older mlpc.
    let scaled = spec.data.targetScaler.map { $0.scaling != .none } ?? false
    format = spec.data.encoder == nil && !scaled ? Self.currentFormat : 4
    mlpcVersion = MLPCore.mlpcVersion
    name = n.name
    task = n.task.rawValue
    loss = n.loss.rawValue
    input = n.input
    features = spec.data.encoder?.columns.map(\.name) ?? spec.data.featureNames
    transforms = spec.data.encoder
    targetScale = scaled ? spec.data.targetScaler : nil
    frontScale = n.frontScale ? true : nil
    ensemble = n.members > 1 ? n.members : nil
    ensembleKind = n.members > 1 && n.ensembleKind != .mini ? n.ensembleKind.rawValue : nil
    // A parameter is written as the shortest decimal that reads back as the same Float: 0.3,
    // not 0.30000001192092896.
    layers = n.layers.map { layer in
      Layer(
        name: layer.name, units: layer.units, activation: layer.activation.rawValue,
        parameters: layer.activation.parameter.map { [$0.key: Double("\(layer.parameter)")!] }
          ?? [:])
    }
    targets = spec.data.targetNames
    classes = spec.data.classNames
    standardized = spec.data.standardizer != nil
    training = spec.training.settings
    if let weights = spec.data.classWeights {
      training["training", default: [:]]["class_weights"] = .numbers(weights.map(Double.init))
    }
    self.spec = spec.resolvedText
  }
}

extension ModelDescription {
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    format = try c.decode(Int.self, forKey: .format)
    mlpcVersion = try c.decode(String.self, forKey: .mlpcVersion)
    name = try c.decode(String.self, forKey: .name)
    task = try c.decode(String.self, forKey: .task)
    loss = try c.decode(String.self, forKey: .loss)
    input = try c.decode(Int.self, forKey: .input)
    features = try c.decode([String].self, forKey: .features)
    layers = try c.decode([Layer].self, forKey: .layers)
    targets = try c.decode([String].self, forKey: .targets)
    classes = try c.decodeIfPresent([String].self, forKey: .classes)
    standardized = try c.decode(Bool.self, forKey: .standardized)
    spec = try c.decode(String.self, forKey: .spec)
    transforms = try c.decodeIfPresent(FeatureEncoder.self, forKey: .transforms)
    targetScale = try c.decodeIfPresent(TargetScaler.self, forKey: .targetScale)
    frontScale = try c.decodeIfPresent(Bool.self, forKey: .frontScale)
    ensemble = try c.decodeIfPresent(Int.self, forKey: .ensemble)
    ensembleKind = try c.decodeIfPresent(String.self, forKey: .ensembleKind)
    if let sections = try? c.decode([String: [String: SettingValue]].self, forKey: .training) {
      training = sections
    } else {
      // Format 2: one section of strings.
      let flat = try c.decode([String: String].self, forKey: .training)
      training = ["training": flat.mapValues { .string($0) }]
    }
  }
}

/// Why a model file cannot be used.
public struct ModelFileError: Error, CustomStringConvertible, Sendable {
  public var description: String
  init(_ description: String) { self.description = description }
}

/// A model read back from a file: its description, network and weights.
public struct Model: Sendable {
  public var description: ModelDescription
  public var network: Network
  public var tensors: [String: NamedTensor]
  public var standardizer: Standardizer?

  /// The model file's bytes for trained parameters (and the data's standardisation), trained
  /// for `epochs` in all (default: the spec's).
  public static func encode(_ spec: CheckedSpec, _ executor: Executor, epochs: Int? = nil) -> Data {
    var description = ModelDescription(spec)
    if let epochs { description.training["training", default: [:]]["epochs"] = .int(epochs) }
    return Safetensors.encode(
      executor.tensors(data: spec.data),
      metadata: ["format": "mlpc-\(description.format)", "mlpc": description.json])
  }

  /// The largest model file read (2^30 parameters).
  public static let maximumFileBytes = 1 << 32

  /// The longest name (feature, class, target, layer, network) a model file may hold, in bytes.
  public static let maximumNameBytes = 4096

  /// Reads `path`: a model file, or a run directory holding `model.safetensors` (which is read
  /// only when it is a regular file in the run, not a link out of it).
  public static func load(_ path: String) throws(ModelFileError) -> Model {
    var isDirectory: ObjCBool = false
    let inRun =
      FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
      && isDirectory.boolValue
    let file = inRun ? path + "/model.safetensors" : path
    let shown = safeText(file, limit: 300)
    let data: Data
    switch RegularFile.open(file, followingLinks: !inRun)
      .flatMap({ $0.readAll(limit: maximumFileBytes) })
    {
    case .success(let bytes): data = bytes
    case .failure(let problem):
      throw ModelFileError("model file '\(shown)' \(problem.reason)")
    }
    return try decode(data, file: file)
  }

  /// The model in a model file's bytes; `file` names it in errors. Every size, offset, name and
  /// value is checked before the network is built: a corrupt or foreign file is an error that
  /// says what is wrong, never a crash.
  public static func decode(_ data: Data, file: String) throws(ModelFileError) -> Model {
    let shown = safeText(file, limit: 300)
    let tensorList: [NamedTensor]
    let metadata: [String: String]
    do { (tensorList, metadata) = try Safetensors.read(data) } catch {
      throw ModelFileError("'\(shown)' is not a safetensors file mlpc can read: \(error)")
    }
    let description: ModelDescription
    switch metadata["format"] {
    case "mlpc-2", "mlpc-3", "mlpc-4":
      guard let json = metadata["mlpc"],
        let decoded = try? JSONDecoder().decode(ModelDescription.self, from: Data(json.utf8))
      else { throw ModelFileError("'\(shown)': the model description is missing or malformed") }
      description = decoded
    case "mlpc-1": description = try formatOne(metadata, tensorList, file: shown)
    default:
      throw ModelFileError(
        "'\(shown)' was not written by mlpc, or by a newer mlpc (format '\(safeText(metadata["format"] ?? "none", limit: 40))')"
      )
    }
    var tensors: [String: NamedTensor] = [:]
    for tensor in tensorList { tensors[tensor.name] = tensor }
    return try Model(description, tensors: tensors, file: shown)
  }

  private init(_ d: ModelDescription, tensors: [String: NamedTensor], file: String)
    throws(ModelFileError)
  {
    func fail(_ what: String) -> ModelFileError { ModelFileError("'\(file)': \(what)") }
    func named(_ name: String) -> String { "'\(safeText(name, limit: 60))'" }
    guard let task = Task(rawValue: d.task), let loss = LossKind(rawValue: d.loss) else {
      throw fail("task \(named(d.task)) or loss \(named(d.loss)) is not one mlpc knows")
    }
    guard (1...maximumWidth).contains(d.input), !d.layers.isEmpty else {
      throw fail("the network has \(d.input) inputs and \(d.layers.count) layers")
    }
    // Names: bounded, and unique where they address something.
    let names = [d.name] + d.features + d.targets + (d.classes ?? []) + d.layers.map(\.name)
    if let long = names.first(where: { $0.utf8.count > Self.maximumNameBytes }) {
      throw fail("a name of \(long.utf8.count) bytes is longer than \(Self.maximumNameBytes)")
    }
    for (what, list) in [
      ("feature", d.features), ("class", d.classes ?? []), ("layer", d.layers.map(\.name)),
      ("target", d.targets),
    ] {
      var seen = Set<String>()
      if let twice = list.first(where: { !seen.insert($0).inserted }) {
        throw fail("\(what) \(named(twice)) is named twice")
      }
    }
    if let t = d.transforms {
      try Self.check(t, features: d.features, input: d.input, fail: fail)
    } else if d.features.count != d.input {
      throw fail("it names \(d.features.count) features for \(d.input) inputs")
    }
    var layers: [CheckedLayer] = []
    var expected: Set<String> = []
    var inputs = d.input
    let members = d.ensemble ?? 1
    guard (1...Network.maximumMembers).contains(members) else {
      throw fail("it has an ensemble of \(members) members")
    }
    guard let kind = EnsembleKind(rawValue: d.ensembleKind ?? "mini"),
      d.ensembleKind == nil || members > 1
    else {
      throw fail(
        "it has an ensemble kind \(named(d.ensembleKind ?? "")) (known: mini, independent, batch_ensemble), or one without members"
      )
    }
    let own = Network.memberLayers(members: members, kind: kind, layers: d.layers.count)
    let batchEnsemble = Network.batchEnsembleLayers(
      members: members, kind: kind, layers: d.layers.count)
    for (k, layer) in d.layers.enumerated() {
      // An ensemble's own layers hold one weight and bias per member; a BatchEnsemble layer a
      // shared weight, a bias per member, and its scales.
      let heads = own.contains(k + 1) ? [members] : []
      let biasHeads = batchEnsemble.contains(k + 1) ? [members] : heads
      guard let activation = Activation(rawValue: layer.activation) else {
        throw fail(
          "layer \(named(layer.name)) has an unknown activation \(named(layer.activation))")
      }
      guard (1...maximumWidth).contains(layer.units),
        tensors["\(layer.name).weight"]?.shape == heads + [layer.units, inputs],
        tensors["\(layer.name).bias"]?.shape == biasHeads + [layer.units]
      else { throw fail("layer \(named(layer.name)) does not match its tensors") }
      if batchEnsemble.contains(k + 1) {
        let scales =
          (k > 0 ? [(Network.inputScaleName(layer.name), inputs)] : [])
          + [(Network.outputScaleName(layer.name), layer.units)]
        for (name, width) in scales {
          guard tensors[name]?.shape == [members, width] else {
            throw fail("layer \(named(layer.name)) does not match its member scales")
          }
          expected.insert(name)
        }
      }
      let parameter = activation.parameter.flatMap { layer.parameters[$0.key] }
      if let parameter, !Float(parameter).isFinite {
        throw fail("layer \(named(layer.name)) has an activation parameter that is not finite")
      }
      layers.append(
        CheckedLayer(
          name: layer.name, units: layer.units, activation: activation,
          parameter: parameter.map(Float.init)))
      expected.formUnion(["\(layer.name).weight", "\(layer.name).bias"])
      inputs = layer.units
    }
    let embeddings = d.transforms?.embeddings ?? []
    for e in embeddings {
      guard tensors[e.tensorName]?.shape == [e.rows, e.dim] else {
        throw fail("feature \(named(e.name))'s embedding does not match its tensor")
      }
      expected.insert(e.tensorName)
    }
    let periodic = d.transforms?.periodicEmbeddings ?? []
    for p in PeriodicEmbedding.tensors(periodic) {
      guard tensors[p.name]?.shape == p.shape else {
        throw fail("periodic embedding tensor \(named(p.name)) does not match its feature")
      }
      expected.insert(p.name)
    }
    let scaled = d.frontScale == true
    if scaled {
      guard tensors[Network.frontScaleName]?.shape == [d.input] else {
        throw fail("its front scale does not match its \(d.input) inputs")
      }
      expected.insert(Network.frontScaleName)
    }
    if members > 1, kind != .independent {
      guard tensors[Network.adapterName]?.shape == [members, d.input] else {
        throw fail("its ensemble adapters do not match \(members) members of \(d.input) inputs")
      }
      expected.insert(Network.adapterName)
    }
    let outputs = inputs
    switch task {
    case .classification:
      guard d.targets.count == 1 else {
        throw fail("a classifier names \(d.targets.count) label columns instead of one")
      }
      if let classes = d.classes, classes.count != max(2, outputs) {
        throw fail(
          "it names \(classes.count) classes for \(outputs) output units"
            + (outputs == 1 ? " (one sigmoid unit: two classes)" : ""))
      }
    case .regression:
      guard d.targets.count == outputs else {
        throw fail("it names \(d.targets.count) targets for \(outputs) output units")
      }
      if let t = d.targetScale {
        guard t.center.count == outputs, t.scale.count == outputs,
          (t.center + t.scale).allSatisfy(\.isFinite), t.scale.allSatisfy({ $0 > 0 })
        else { throw fail("its target scaling does not fit its \(outputs) targets") }
      }
    }
    if d.targetScale != nil, task != .regression {
      throw fail("a classifier cannot have a target scaling")
    }
    if d.standardized { expected.formUnion(["input.mean", "input.std"]) }
    if let missing = expected.sorted().first(where: { tensors[$0] == nil }) {
      throw fail("tensor \(named(missing)) is missing")
    }
    if let extra = tensors.keys.sorted().first(where: { !expected.contains($0) }) {
      throw fail("tensor \(named(extra)) belongs to no layer of the network it describes")
    }
    if let bad = tensors.values.sorted(by: { $0.name < $1.name }).first(where: {
      $0.values.contains { !$0.isFinite }
    }) {
      throw fail("tensor \(named(bad.name)) holds values that are not finite (NaN or infinity)")
    }
    description = d
    network = Network(
      name: d.name, task: task, input: d.input, layers: layers, loss: loss,
      embeddings: embeddings, periodic: periodic, frontScale: scaled, members: members,
      ensembleKind: kind, featureStarts: d.transforms?.inputStarts ?? [])
    self.tensors = tensors
    if d.standardized {
      guard let mean = tensors["input.mean"]?.values, let std = tensors["input.std"]?.values,
        mean.count == d.input, std.count == d.input
      else { throw fail("the standardisation tensors do not match the inputs") }
      guard std.allSatisfy({ $0 > 0 }) else {
        throw fail("tensor 'input.std' holds a standard deviation that is not positive")
      }
      standardizer = Standardizer(mean: mean, std: std)
    }
  }

  /// Feature transforms that fit the network: one per feature column, of its kind, with finite
  /// statistics, positive scales, sorted quantiles and bin edges, distinct levels, as wide as the
  /// input.
  private static func check(
    _ t: FeatureEncoder, features: [String], input: Int, fail: (String) -> ModelFileError
  ) throws(ModelFileError) {
    guard t.columns.map(\.name) == features else {
      throw fail("its feature transforms do not name its feature columns")
    }
    for c in t.columns {
      let shown = "feature '\(safeText(c.name, limit: 60))'"
      switch (c.numeric, c.categorical) {
      case (let n?, nil):
        let numbers =
          [n.center, n.scale] + (n.fill.map { [$0] } ?? []) + (n.quantiles ?? []) + (n.edges ?? [])
        guard numbers.allSatisfy(\.isFinite), n.scale > 0 else {
          throw fail("\(shown) has a transform with numbers that are not finite or a scale ≤ 0")
        }
        if let q = n.quantiles,
          q.isEmpty || q.count > NumericTransform.maximumQuantiles
            || zip(q, q.dropFirst()).contains(where: { $0 > $1 })
        {
          throw fail("\(shown) has quantiles that are not sorted")
        }
        // Bin edges strictly increasing, as many as a spec may ask for, only for their scaling.
        if (n.scaling == .piecewiseLinear) != (n.edges != nil) {
          throw fail("\(shown) has bin edges without piecewise-linear scaling, or none with it")
        }
        if let e = n.edges,
          e.count < 2 || e.count > NumericTransform.maximumBins + 1
            || zip(e, e.dropFirst()).contains(where: { !($0 < $1) })
            || zip(e, e.dropFirst()).contains(where: { !($1 - $0).isFinite || $1 - $0 <= 0 })
        {
          throw fail("\(shown) has bin edges that are not strictly increasing, or too far apart")
        }
        if let p = n.periodic {
          guard (1...PeriodicSettings.maximumFrequencies).contains(p.frequencies),
            (1...PeriodicSettings.maximumDim).contains(p.dim), p.sigma.isFinite, p.sigma > 0,
            n.scaling != .piecewiseLinear
          else {
            throw fail(
              "\(shown) has a periodic embedding with frequencies or width outside 1…\(PeriodicSettings.maximumDim), a σ ≤ 0, or bins"
            )
          }
        }
      case (nil, let k?):
        let all = k.levels + k.infrequent
        guard Set(all).count == all.count, all.count <= maximumWidth,
          all.allSatisfy({ $0.utf8.count <= Self.maximumNameBytes })
        else { throw fail("\(shown) has levels named twice or too long") }
        if k.binary, k.levels.count != 2 || !k.infrequent.isEmpty || k.missingIsLevel {
          throw fail("\(shown) is boolean but does not have exactly two levels")
        }
        if let dim = k.embeddingDim, !(1...FeatureTreatment.maxEmbeddingDim).contains(dim) {
          throw fail(
            "\(shown) has an embedding width outside 1…\(FeatureTreatment.maxEmbeddingDim)")
        }
      default: throw fail("\(shown) has no transform, or two")
      }
    }
    let lite = t.columns.compactMap { $0.numeric?.periodic }.filter(\.lite)
    if let first = lite.first,
      lite.contains(where: { $0.frequencies != first.frequencies || $0.dim != first.dim })
    {
      throw fail("its lite periodic embeddings share a linear layer but differ in size")
    }
    guard t.width == input else {
      throw fail("its feature transforms are \(t.width) wide for \(input) inputs")
    }
  }

  /// Format 1 kept names joined with commas and no activation parameters; read as written then.
  private static func formatOne(_ m: [String: String], _ tensors: [NamedTensor], file: String)
    throws(ModelFileError) -> ModelDescription
  {
    let shapes = Dictionary(tensors.map { ($0.name, $0.shape) }) { a, _ in a }
    let split = { (key: String) in m[key].map { $0.split(separator: ",").map(String.init) } ?? [] }
    guard let name = m["name"], let task = m["task"], let loss = m["loss"],
      let input = m["input"].flatMap({ Int($0) })
    else { throw ModelFileError("'\(file)': format 1 metadata is incomplete") }
    var d = ModelDescription(
      format: 1, mlpcVersion: "0.1.0", name: name, task: task, loss: loss, input: input,
      features: split("features"), layers: [], targets: split("targets"),
      classes: m["classes"] == nil ? nil : split("classes"),
      standardized: shapes["input.mean"] != nil, training: [:], spec: "")
    d.layers = zip(split("layers"), split("activations")).map { name, activation in
      ModelDescription.Layer(
        name: name, units: shapes["\(name).weight"]?.first ?? 0, activation: activation,
        parameters: [:])
    }
    return d
  }
}

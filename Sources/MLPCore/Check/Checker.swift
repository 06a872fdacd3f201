// `check(_:)`: every semantic rule of spec format v1 over a parsed spec, collecting all
// diagnostics in one pass. Rules live next to their messages in ShapeChecks, HyperparameterChecks
// and DataChecks; this file wires them together and builds the `CheckedSpec`.

import Foundation

/// The result of checking one spec file.
public struct CheckResult: Sendable {
  /// All findings, sorted by location.
  public var diagnostics: [Diagnostic]
  /// The checked spec, when there were no errors.
  public var spec: CheckedSpec?
}

/// Checks spec files.
public enum Checker {
  /// Parses and checks the spec at `path`, loading its data.
  public static func check(file path: String, overrides: [SpecOverride] = []) -> CheckResult {
    let parsed = SpecParser.parse(file: path, overrides: overrides)
    return check(parsed.spec, parseDiagnostics: parsed.diagnostics)
  }

  /// As `check(file:overrides:)`, with fold `fold.index` of `fold.count` of the training rows
  /// (`Dataset.fold`) as the validation rows instead of `validation_split` (cross-validation).
  public static func check(
    file path: String, overrides: [SpecOverride] = [], fold: (index: Int, count: Int)
  ) -> CheckResult {
    let parsed = SpecParser.parse(file: path, overrides: overrides)
    return check(parsed.spec, parseDiagnostics: parsed.diagnostics, fold: fold)
  }

  /// Parses and checks spec text (`file` names it in locations and resolves data paths).
  /// With `loadingData: false` the data section is checked for its keys only and no file is
  /// read or data set generated (the spec then never checks valid; for fuzzing and editors).
  public static func check(
    text: String, file: String, loadingData: Bool = true, overrides: [SpecOverride] = [],
    fold: (index: Int, count: Int)? = nil
  ) -> CheckResult {
    var parsed = SpecParser.parse(text: text, file: file, overrides: overrides)
    if !loadingData { parsed.spec?.data = nil }
    return check(parsed.spec, parseDiagnostics: parsed.diagnostics, fold: fold)
  }

  static func check(
    _ spec: ModelSpec?, parseDiagnostics: [Diagnostic], fold: (index: Int, count: Int)? = nil
  ) -> CheckResult {
    guard let spec else {
      return CheckResult(diagnostics: parseDiagnostics.sortedByLocation(), spec: nil)
    }
    var context = CheckContext(spec: spec)
    context.fold = fold
    context.diagnostics = parseDiagnostics
    _ = context.checked(.version, in: spec.top)
    _ = context.checked(.ensemble, in: spec.top)
    let layers = context.checkLayers()
    let loss = context.checkLoss(layers: layers)
    let training = context.checkTraining()
    if let layers { context.checkArena(layers: layers, training: training) }
    let data = context.checkData(layers: layers, loss: loss, seed: training.seed)
    context.checkMonitor(training, task: spec.top[.task]?.value, data: data)
    // Without `input`, n^0 is what the data gives (its columns, or their encoded width); the
    // embedding tables are sized once the training rows have been fitted.
    let embeddings = data?.encoder?.embeddings ?? []
    let periodic = data?.encoder?.periodicEmbeddings ?? []
    let embeds = !embeddings.isEmpty || !periodic.isEmpty
    if spec.top[.input] == nil || embeds, let layers, let data {
      context.checkArena(
        layers: layers, training: training, input: data.encoder?.width ?? data.train.inputs,
        embeddings: embeddings, periodic: periodic)
      if embeds, let at = spec.data?[.features]?.location ?? spec.data?.location {
        _ = context.checkMemory(
          samples: data.train.count, floatsPerSample: data.train.inputs + data.train.outputs,
          labels: data.train.labels != nil, source: "the training rows", at: at)
      }
    }
    let diagnostics = context.diagnostics.sortedByLocation()
    guard !diagnostics.hasErrors, let task = spec.top[.task]?.value,
      let input = spec.top[.input]?.value ?? data?.encoder?.width ?? data?.train.inputs,
      let layers, let loss, let data
    else { return CheckResult(diagnostics: diagnostics, spec: nil) }
    let name =
      spec.top[.name]?.value
      ?? PathText.lastComponent(PathText.removingExtension(spec.file))
    let network = Network(
      name: name, task: task, input: input, layers: layers, loss: loss, embeddings: embeddings,
      periodic: periodic, frontScale: spec.top[.frontScale]?.value ?? false,
      members: spec.top[.ensemble]?.value.members ?? 1,
      ensembleKind: spec.top[.ensemble]?.value.kind ?? .mini,
      featureStarts: data.encoder?.inputStarts ?? [])
    let checked = CheckedSpec(
      file: spec.file, text: spec.text, resolvedText: spec.resolvedText ?? spec.text,
      network: network, training: training, data: data)
    return CheckResult(diagnostics: diagnostics, spec: checked)
  }
}

/// Shared state of one check: the spec and the diagnostics found so far.
struct CheckContext {
  let spec: ModelSpec
  var diagnostics: [Diagnostic] = []
  /// The network's sizes once its layers check, for the memory check of the data.
  var arenaSizing: ArenaSizing?
  /// Cross-validation: the fold held out for validation, and how many there are.
  var fold: (index: Int, count: Int)?

  init(spec: ModelSpec) { self.spec = spec }

  mutating func report(_ d: Diagnostic) { diagnostics.append(d) }

  /// Where to point when a key is absent: the enclosing mapping.
  var rootLocation: SourceLocation { spec.location }

  /// `key`'s value in `section` when it is written and inside the key's bounds; nil when absent,
  /// and nil with a diagnostic (the key's code, its path) when out of range.
  mutating func checked<V>(_ key: SpecKey<V>, in section: SpecSectionValues?) -> Located<V>? {
    guard let found = section?[key] else { return nil }
    return inBounds(key.info, found.value, found) ? found : nil
  }

  /// The value of the key `info` in `section` when it is written and inside its bounds, as
  /// `checked(_:in:)` decides, without its type.
  mutating func checked(_ info: KeyInfo, in section: SpecSectionValues?) -> (any Sendable)? {
    guard let found = section?.values[info.name] else { return nil }
    return inBounds(info, found.value, found) ? found.value : nil
  }

  private mutating func inBounds<V>(_ info: KeyInfo, _ value: any Sendable, _ found: Located<V>)
    -> Bool
  {
    guard let bounds = info.bounds else { return true }
    let number: Double? =
      (value as? Int).map(Double.init) ?? (value as? EnsembleValue).map { Double($0.members) }
      ?? value as? Double
    guard let number else { return true }
    let range = bounds.describe(integer: value is Int || value is EnsembleValue)
    if !bounds.contains(number) {
      report(
        Diagnostic(
          info.rangeCode, "'\(found.path)' must be \(range), found \(value)",
          at: found.location, help: info.help))
      return false
    }
    // Training computes in single precision: 0.99999999999 is 1 there, 1e-50 is 0, 1e300 is ∞.
    let single = Float(number)
    if info.singlePrecision, !bounds.contains(Double(single)) {
      report(
        Diagnostic(
          info.rangeCode,
          "'\(found.path)' must be \(range) in single precision, which training uses; \(value) is \(single) there",
          at: found.location, help: info.help))
      return false
    }
    return true
  }

  /// `key`'s checked value in `section`, or its default.
  mutating func value<V>(_ key: SpecKey<V>, in section: SpecSectionValues?) -> V {
    guard let defaultValue = key.defaultValue else {
      preconditionFailure("'\(key.info.name)' has no constant default")
    }
    return checked(key, in: section)?.value ?? defaultValue
  }
}

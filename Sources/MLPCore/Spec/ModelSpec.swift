// The spec's syntax tree: what the YAML said, with a location for every value, before any
// semantic check. A value that was missing or malformed is nil here (and a diagnostic says why),
// so the checker can go on and report every other problem in the same pass.

@_exported import MLPKernels

/// A value together with where it was written and the key path that holds it.
public struct Located<Value: Sendable>: Sendable {
  public var value: Value
  public var location: SourceLocation
  /// The key path, e.g. `training.epochs` or `layers[2].units` (empty for list items).
  public var path: String

  public init(_ value: Value, at location: SourceLocation, path: String = "") {
    self.value = value
    self.location = location
    self.path = path
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

/// The values written in one mapping (the top level, a layer, `data:` or `training:`), by key,
/// each typed as its key in `SpecKeys` says.
public struct SpecSectionValues: Sendable {
  public var location: SourceLocation
  var values: [String: Located<any Sendable>] = [:]

  init(location: SourceLocation) { self.location = location }

  /// The value of `key`, if written and well-typed.
  public subscript<V>(_ key: SpecKey<V>) -> Located<V>? {
    values[key.info.name].flatMap { v in
      (v.value as? V).map { Located($0, at: v.location, path: v.path) }
    }
  }

  /// Whether `name` was written (valid or not).
  public func wrote(_ name: String) -> Bool { keys.contains(name) }

  /// Every key written, valid or not.
  var keys: Set<String> = []
}

/// A parsed spec file: what the YAML said, section by section.
public struct ModelSpec: Sendable {
  /// The spec's path as given by the user.
  public var file: String
  /// The spec as written.
  public var text: String = ""
  /// With overrides: the spec they produce, as YAML (comments and layout are the emitter's).
  public var resolvedText: String?
  public var top: SpecSectionValues
  public var layers: [SpecSectionValues]?
  public var layersLocation: SourceLocation?
  public var data: SpecSectionValues?
  public var training: SpecSectionValues?
  public var checkpoint: SpecSectionValues?
  public var earlyStopping: SpecSectionValues?
  public var schedule: SpecSectionValues?

  public var location: SourceLocation { top.location }
}

extension ModelSpec {
  /// Where layer `k` (1-based) sets its width, or the layer itself; nil when there is none.
  public func unitsLocation(layer k: Int) -> SourceLocation? {
    guard let layers, k >= 1, k <= layers.count else { return nil }
    return layers[k - 1][.units]?.location ?? layers[k - 1].location
  }
}

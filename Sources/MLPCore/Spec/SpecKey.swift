// What a spec key is: its section, name, value type, default, allowed range and one-line
// documentation. The keys themselves are declared once, in SpecKeys.swift; the parser, the
// range checks, the defaults, `mlpc schema` and the key tables of docs/spec.md all read them.

import Yams

/// Where a key lives.
public enum SpecSection: String, CaseIterable, Sendable {
  case top, layer, data, training, checkpoint, schedule
  case earlyStopping = "early_stopping"

  /// The key path prefix: "", "layers[i].", "data.", "training.".
  func prefix(index: Int? = nil) -> String {
    switch self {
    case .top: ""
    case .layer: "layers[\(index.map(String.init) ?? "")]."
    case .data: "data."
    case .training: "training."
    case .checkpoint: "training.checkpoint."
    case .schedule: "training.schedule."
    case .earlyStopping: "training.early_stopping."
    }
  }
}

/// The shape a key's value must have.
public enum SpecValueKind: Sendable, Equatable {
  case integer, number, boolean, string
  /// A string, or a non-empty list of strings.
  case names
  /// One of fixed names.
  case choice([String])
  /// A nested section.
  case mapping
  /// The list of layers.
  case layerList
  /// `balanced`, or a mapping from class name to a positive weight.
  case classWeights
  /// A loss name, or a mapping with `type` and the loss's options.
  case loss
  /// An ensemble's size, or a mapping with `members` and `kind`.
  case ensemble
  /// A name, a list of names, or a mapping from column name to its treatment.
  case features

  /// Whether the key holds a section (a mapping or the layer list) rather than a value.
  public var isSection: Bool { self == .mapping || self == .layerList }
}

/// Allowed values of a number: inclusive or exclusive bounds on either side.
public struct Bounds: Sendable, Equatable {
  public var minimum: Double?
  public var exclusiveMinimum = false
  public var maximum: Double?
  public var exclusiveMaximum = false

  func contains(_ x: Double) -> Bool {
    guard x.isFinite else { return false }
    if let minimum, exclusiveMinimum ? !(x > minimum) : !(x >= minimum) { return false }
    if let maximum, exclusiveMaximum ? !(x < maximum) : !(x <= maximum) { return false }
    return true
  }

  /// "between 1 and 10,000,000", "a finite number greater than 0", "at least 0 and less than 1".
  func describe(integer: Bool) -> String {
    let show = { (x: Double) in
      integer ? formatCount(x) : "\(x)".replacingOccurrences(of: ".0", with: "")
    }
    let low = minimum.map { (exclusiveMinimum ? "greater than " : "at least ") + show($0) }
    let high = maximum.map { (exclusiveMaximum ? "less than " : "at most ") + show($0) }
    if let minimum, let maximum, minimum == maximum { return show(minimum) }
    if integer, let minimum, let maximum, !exclusiveMinimum, !exclusiveMaximum {
      return "between \(show(minimum)) and \(show(maximum))"
    }
    let parts = [low, high].compactMap { $0 }.joined(separator: " and ")
    return integer ? parts : "a finite number" + (parts.isEmpty ? "" : " " + parts)
  }
}

/// Everything about one key except its Swift value type.
public struct KeyInfo: Sendable {
  public let section: SpecSection
  public let name: String
  public let kind: SpecValueKind
  /// The default as JSON text (for the schema), if it is a constant.
  public let defaultJSON: String?
  /// The default as the docs show it ("`100`", "the file name", "**required**").
  public let defaultText: String
  public let bounds: Bounds?
  /// The code of an out-of-range value.
  public let rangeCode: DiagnosticCode
  public let required: Bool
  /// Whether training uses the value in single precision (its bounds then apply to the Float).
  public let singlePrecision: Bool
  public let summary: String
  public let help: String?
  /// Reads a node of this key's type (nil and a diagnostic when it does not fit).
  let read: @Sendable (Node, String, NodeReader) -> Located<any Sendable>?
}

/// A key whose values are `Value`s.
public struct SpecKey<Value: Sendable>: Sendable {
  public let info: KeyInfo
  /// The value used when the key is absent, if that is a constant.
  public let defaultValue: Value?
}

extension SpecKey {
  init(
    _ section: SpecSection, _ name: String, _ kind: SpecValueKind, default value: Value?,
    json: String?, shown: String? = nil, bounds: Bounds? = nil, code: DiagnosticCode,
    required: Bool = false, singlePrecision: Bool = false, help: String? = nil, _ summary: String,
    read: @escaping @Sendable (Node, String, NodeReader) -> Located<Value>?
  ) {
    let text =
      required
      ? "**required**"
      : shown ?? json.map { "`\($0.replacingOccurrences(of: "\"", with: ""))`" } ?? "—"
    info = KeyInfo(
      section: section, name: name, kind: kind, defaultJSON: json, defaultText: text,
      bounds: bounds, rangeCode: code, required: required, singlePrecision: singlePrecision,
      summary: summary, help: help,
      read: { node, path, reader in
        read(node, path, reader).map { Located($0.value, at: $0.location, path: $0.path) }
      })
    defaultValue = value
  }
}

extension SpecKey where Value == Int {
  static func integer(
    _ section: SpecSection, _ name: String, default value: Int? = nil, shown: String? = nil,
    _ bounds: Bounds, code: DiagnosticCode = .hyperparameter, required: Bool = false,
    help: String? = nil, _ summary: String
  ) -> SpecKey {
    SpecKey(
      section, name, .integer, default: value, json: value.map(String.init), shown: shown,
      bounds: bounds, code: code, required: required, help: help, summary,
      read: { $2.int($0, $1) })
  }
}

extension SpecKey where Value == Double {
  static func number(
    _ section: SpecSection, _ name: String, default value: Double? = nil, shown: String? = nil,
    _ bounds: Bounds, code: DiagnosticCode = .hyperparameter, float: Bool = false,
    help: String? = nil, _ summary: String
  ) -> SpecKey {
    SpecKey(
      section, name, .number, default: value, json: value.map { "\($0)" }, shown: shown,
      bounds: bounds, code: code, singlePrecision: float, help: help, summary,
      read: { $2.double($0, $1) })
  }
}

extension SpecKey where Value == Bool {
  static func boolean(
    _ section: SpecSection, _ name: String, default value: Bool, _ summary: String
  )
    -> SpecKey
  {
    SpecKey(
      section, name, .boolean, default: value, json: "\(value)", code: .wrongType, summary,
      read: { $2.bool($0, $1) })
  }
}

extension SpecKey where Value == String {
  static func string(
    _ section: SpecSection, _ name: String, default value: String? = nil, shown: String? = nil,
    required: Bool = false, _ summary: String
  ) -> SpecKey {
    SpecKey(
      section, name, .string, default: value, json: value.map { "\"\($0)\"" }, shown: shown,
      code: .wrongType, required: required, summary, read: { $2.string($0, $1) })
  }
}

extension SpecKey where Value == [Located<String>] {
  static func names(_ section: SpecSection, _ name: String, shown: String, _ summary: String)
    -> SpecKey
  {
    SpecKey(
      section, name, .names, default: nil, json: nil, shown: shown, code: .badSize, summary,
      read: { $2.names($0, $1) })
  }
}

extension SpecKey where Value: RawRepresentable & CaseIterable, Value.RawValue == String {
  static func choice(
    _ section: SpecSection, _ name: String, default value: Value? = nil, shown: String? = nil,
    required: Bool = false, _ what: String, _ summary: String
  ) -> SpecKey {
    SpecKey(
      section, name, .choice(Value.allCases.map(\.rawValue)), default: value,
      json: value.map { "\"\($0.rawValue)\"" }, shown: shown, code: .unknownChoice,
      required: required, summary, read: { $2.choice($0, $1, what) })
  }
}

/// `loss` as written: its kind, and the label smoothing ε of a classification loss.
public struct LossValue: Sendable {
  public var kind: LossKind
  public var labelSmoothing: Located<Double>?
}

extension SpecKey where Value == LossValue {
  static func loss(_ section: SpecSection, _ name: String, shown: String, _ summary: String)
    -> SpecKey
  {
    SpecKey(
      section, name, .loss, default: nil, json: nil, shown: shown, code: .unknownChoice, summary,
      read: { $2.loss($0, $1) })
  }
}

/// `data.class_weights` as written.
public enum ClassWeightsValue: Sendable {
  case balanced
  case mapping([(name: Located<String>, weight: Located<Double>)])
}

extension SpecKey where Value == ClassWeightsValue {
  static func classWeights(_ section: SpecSection, _ name: String, _ summary: String) -> SpecKey {
    SpecKey(
      section, name, .classWeights, default: nil, json: nil, shown: "none (every class 1)",
      code: .wrongType, summary, read: { $2.classWeights($0, $1) })
  }
}

extension SpecKey where Value == FeaturesValue {
  static func features(_ section: SpecSection, _ name: String, shown: String, _ summary: String)
    -> SpecKey
  {
    SpecKey(
      section, name, .features, default: nil, json: nil, shown: shown, code: .badSize, summary,
      read: { $2.features($0, $1) })
  }
}

/// A nested section or the layer list; its values are read by the parser, not by `read`.
struct Section: Sendable {}

extension SpecKey where Value == Section {
  static func section(
    _ name: String, _ kind: SpecValueKind, in parent: SpecSection = .top, required: Bool = false,
    shown: String? = nil, _ summary: String
  ) -> SpecKey {
    SpecKey(
      parent, name, kind, default: nil, json: nil, shown: shown, code: .wrongType,
      required: required, summary, read: { _, _, _ in nil })
  }
}

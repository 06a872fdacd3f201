// A spec key bound to the configuration field that holds its checked value, with the variants
// it applies to as data. Checking a section is one loop over its bindings (defaults come from
// the key table or, where they depend on another setting, from the binding); the "has no
// effect with …" warnings and the settings recorded in config.json and the model file are
// derived from the same bindings. A completeness test fails for a key without a binding.

/// A resolved setting as a typed JSON value.
public enum SettingValue: Codable, Sendable, Equatable, CustomStringConvertible {
  case int(Int)
  case number(Double)
  case bool(Bool)
  case string(String)
  case numbers([Double])
  case null

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() {
      self = .null
    } else if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let i = try? c.decode(Int.self) {
      self = .int(i)
    } else if let d = try? c.decode(Double.self) {
      self = .number(d)
    } else if let s = try? c.decode(String.self) {
      self = .string(s)
    } else {
      self = .numbers(try c.decode([Double].self))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .int(let i): try c.encode(i)
    case .number(let d): try c.encode(d)
    case .bool(let b): try c.encode(b)
    case .string(let s): try c.encode(s)
    case .numbers(let xs): try c.encode(xs)
    case .null: try c.encodeNil()
    }
  }

  /// JSON does not tell 0 from 0.0: a whole number equals the same integer.
  public static func == (a: SettingValue, b: SettingValue) -> Bool {
    switch (a, b) {
    case (.int(let i), .number(let d)), (.number(let d), .int(let i)): Double(i) == d
    case (.int(let x), .int(let y)): x == y
    case (.number(let x), .number(let y)): x == y
    case (.bool(let x), .bool(let y)): x == y
    case (.string(let x), .string(let y)): x == y
    case (.numbers(let x), .numbers(let y)): x == y
    case (.null, .null): true
    default: false
    }
  }

  public var description: String {
    switch self {
    case .int(let i): "\(i)"
    case .number(let d): "\(d)"
    case .bool(let b): "\(b)"
    case .string(let s): s
    case .numbers(let xs): xs.map { "\($0)" }.joined(separator: ",")
    case .null: "off"
    }
  }
}

/// A configuration value that can be recorded.
public protocol SettingConvertible {
  var setting: SettingValue { get }
}

extension Int: SettingConvertible { public var setting: SettingValue { .int(self) } }
extension UInt64: SettingConvertible { public var setting: SettingValue { .int(Int(self)) } }
extension Double: SettingConvertible { public var setting: SettingValue { .number(self) } }
extension Bool: SettingConvertible { public var setting: SettingValue { .bool(self) } }
extension Optional: SettingConvertible where Wrapped: SettingConvertible {
  public var setting: SettingValue { self?.setting ?? .null }
}
extension SettingConvertible where Self: RawRepresentable, RawValue == String {
  public var setting: SettingValue { .string(rawValue) }
}
extension OptimizerKind: SettingConvertible {}
extension ScheduleKind: SettingConvertible {}
extension MonitoredMetric: SettingConvertible {}
extension MonitorMode: SettingConvertible {}

/// The variants of the configuration a key applies to; set under another, it has no effect (a
/// warning names the variant).
public enum Variants: Sendable {
  case all
  /// Only the optimizers that read this setting (`Optimizer.reads`).
  case optimizersReading
  case schedules(Set<ScheduleKind>)

  /// Whether a key of this kind applies under `config`; else the variant in words.
  func ignored(under config: TrainingConfig, name: String) -> String? {
    switch self {
    case .all: return nil
    case .optimizersReading:
      let optimizer = config.optimizer
      return optimizer.reads.contains(name) ? nil : "optimizer '\(optimizer.rawValue)'"
    case .schedules(let kinds):
      let kind = config.schedule.kind
      return kinds.contains(kind) ? nil : "schedule type '\(kind.rawValue)'"
    }
  }
}

/// A spec key bound to the field of `Root` that holds its checked value.
public struct KeyBinding<Root>: Sendable {
  public let info: KeyInfo
  public let variants: Variants
  /// Sets the field: from the spec's (checked) value, or the default when nil.
  let assign: @Sendable (inout Root, (any Sendable)?) -> Void
  /// The field's value, for the records.
  let read: @Sendable (Root) -> SettingValue

  /// Binds `key` to `path`, converting the spec's value with `convert`; `absent` gives the
  /// field when the key is not written (default: the key's constant default).
  init<V: Sendable, F: SettingConvertible & Sendable>(
    _ key: SpecKey<V>, _ path: WritableKeyPath<Root, F> & Sendable, variants: Variants = .all,
    convert: @escaping @Sendable (V) -> F, absent: (@Sendable (Root) -> F)? = nil
  ) {
    info = key.info
    self.variants = variants
    let constant = key.defaultValue.map(convert)
    assign = { root, value in
      if let value = value as? V {
        root[keyPath: path] = convert(value)
      } else if let absent {
        root[keyPath: path] = absent(root)
      } else if let constant {
        root[keyPath: path] = constant
      }
    }
    read = { $0[keyPath: path].setting }
  }

  /// Binds `key` to a field of the same type.
  init<V: Sendable & SettingConvertible>(
    _ key: SpecKey<V>, _ path: WritableKeyPath<Root, V> & Sendable, variants: Variants = .all,
    absent: (@Sendable (Root) -> V)? = nil
  ) {
    self.init(key, path, variants: variants, convert: { $0 }, absent: absent)
  }

  /// Binds an optional setting (off when not written).
  init<V: Sendable & SettingConvertible>(
    _ key: SpecKey<V>, optional path: WritableKeyPath<Root, V?> & Sendable,
    variants: Variants = .all
  ) {
    self.init(key, path, variants: variants, convert: { $0 }, absent: { _ in nil })
  }
}

extension Array {
  /// The recorded settings of `root`: each bound key's name and value.
  func settings<Root>(of root: Root) -> [String: SettingValue] where Element == KeyBinding<Root> {
    Dictionary(map { ($0.info.name, $0.read(root)) }) { a, _ in a }
  }
}

// The one JSON encoder of every record mlpc writes (metrics lines, summary, configuration, sweep
// table, evaluation, plan and bench reports): keys sorted, slashes not escaped. JSON has no NaN
// or infinity: such a number is written as `null` and its key path listed in a top-level
// `non_finite` array (docs/run-output.md). Leaves out: the model file's metadata, whose bytes
// ModelDescription fixes itself.

import Foundation

/// Encodes and decodes mlpc's JSON records.
public enum JSONRecord {
  /// One line of JSON (metrics.jsonl).
  public static func line<T: Encodable>(_ value: T) -> String {
    encode(value, pretty: false)
  }

  /// A pretty-printed JSON document (summary.json, config.json, sweep.json).
  public static func document<T: Encodable>(_ value: T) -> String {
    encode(value, pretty: true)
  }

  /// A record read back; nil when `data` is not one. A `null` number reads as absent (or NaN
  /// where the record has no absent value).
  public static func decode<T: Decodable>(_ type: T.Type, from data: Data) -> T? {
    try? JSONDecoder().decode(type, from: data)
  }

  private static let nan = "\u{1}nan"
  private static let infinity = "\u{1}+inf"
  private static let minusInfinity = "\u{1}-inf"

  private static func encode<T: Encodable>(_ value: T, pretty: Bool) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting =
      pretty
      ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
      : [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: infinity, negativeInfinity: minusInfinity, nan: nan)
    guard let data = try? encoder.encode(value) else {
      preconditionFailure("a record of \(T.self) did not encode")
    }
    let text = String(decoding: data, as: UTF8.self)
    guard text.contains("\\u0001") else { return text }
    return replacingNonFinite(data, options: encoder.outputFormatting)
  }

  /// The rare record with a non-finite number: the markers become null, their paths listed.
  private static func replacingNonFinite(
    _ data: Data, options: JSONEncoder.OutputFormatting
  ) -> String {
    guard let object = try? JSONSerialization.jsonObject(with: data) else { return "null" }
    var paths: [String] = []
    var clean = withoutMarkers(object, path: "", into: &paths)
    if var top = clean as? [String: Any], !paths.isEmpty {
      top["non_finite"] = paths.sorted()
      clean = top
    }
    var writing: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
    if options.contains(.prettyPrinted) { writing.insert(.prettyPrinted) }
    let out = (try? JSONSerialization.data(withJSONObject: clean, options: writing)) ?? Data()
    return String(decoding: out, as: UTF8.self)
  }

  private static func withoutMarkers(_ value: Any, path: String, into paths: inout [String])
    -> Any
  {
    switch value {
    case let s as String where s == nan || s == infinity || s == minusInfinity:
      paths.append(path)
      return NSNull()
    case let object as [String: Any]:
      var out: [String: Any] = [:]
      for (k, v) in object {
        out[k] = withoutMarkers(v, path: path.isEmpty ? k : path + "." + k, into: &paths)
      }
      return out
    case let array as [Any]:
      return array.enumerated().map { withoutMarkers($1, path: "\(path)[\($0)]", into: &paths) }
    default:
      return value
    }
  }
}

/// A coding key made at run time (`best_<monitor>`, a grid axis, a class name).
struct DynamicKey: CodingKey {
  var stringValue: String
  var intValue: Int? { nil }
  init(_ s: String) { stringValue = s }
  init?(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
}

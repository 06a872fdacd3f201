// The JSON of request and response bodies: a small parser over the body's bytes that keeps each
// number's text (a category written as 3 stays "3", and a feature is rounded from its text to
// single precision as `mlpc predict` rounds a CSV cell), says where a malformed body goes wrong
// (byte offset), and bounds nesting so a hostile body cannot exhaust the stack; and a writer of
// compact JSON text.

import Foundation
import MLPCore

/// A parsed JSON value. Numbers keep their text.
public enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(String)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  public static func == (a: JSONValue, b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.number(let x), .number(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.array(let x), .array(let y)): return x == y
    case (.object(let x), .object(let y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    default: return false
    }
  }

  /// The value under `key` of an object (the first, if the key repeats).
  public subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.first { $0.0 == key }?.1
  }

  /// What the value is, for error messages.
  public var kind: String {
    switch self {
    case .null: "null"
    case .bool: "a boolean"
    case .number: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
  }

  /// The number's value, for a number.
  public var double: Double? {
    guard case .number(let text) = self else { return nil }
    return Double(text)
  }
}

/// A body that is not JSON: what is wrong and at which byte.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var offset: Int
  /// The body holds more values than the parser was allowed to read.
  public var tooManyValues = false
  public var description: String { "malformed JSON at byte \(offset): \(message)" }
}

/// Parses JSON text (RFC 8259) with nesting at most `maximumDepth`.
public struct JSONParser {
  public static let maximumDepth = 64
  private let bytes: [UInt8]
  private var i = 0
  /// Values that may still be read: a parsed value takes tens of bytes for each byte of text,
  /// so a server bounds their number by what the request can hold.
  private var budget: Int

  /// The value of `bytes`, reading at most `maximumValues` values.
  public static func parse(_ bytes: [UInt8], maximumValues: Int = .max) throws(JSONSyntaxError)
    -> JSONValue
  {
    var p = JSONParser(bytes: bytes, budget: maximumValues)
    p.skipSpace()
    let value = try p.value(depth: 0)
    p.skipSpace()
    guard p.i == bytes.count else { throw p.error("unexpected text after the value") }
    return value
  }

  private init(bytes: [UInt8], budget: Int) { (self.bytes, self.budget) = (bytes, budget) }

  private func error(_ message: String) -> JSONSyntaxError {
    JSONSyntaxError(message: message, offset: i)
  }

  private mutating func skipSpace() {
    while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 10 || bytes[i] == 13 {
      i += 1
    }
  }

  private mutating func expect(_ word: String, _ value: JSONValue) throws(JSONSyntaxError)
    -> JSONValue
  {
    let w = Array(word.utf8)
    guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else {
      throw error("unexpected character")
    }
    i += w.count
    return value
  }

  private mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
    guard depth < Self.maximumDepth else {
      throw error("nested deeper than \(Self.maximumDepth) levels")
    }
    guard i < bytes.count else { throw error("unexpected end of the body") }
    budget -= 1
    guard budget >= 0 else {
      var e = error("more values than the request may hold")
      e.tooManyValues = true
      throw e
    }
    switch bytes[i] {
    case UInt8(ascii: "{"):
      i += 1
      var members: [(String, JSONValue)] = []
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
        i += 1
        return .object(members)
      }
      while true {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
          throw error("expected a quoted member name")
        }
        let key = try string()
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
        i += 1
        skipSpace()
        members.append((key, try value(depth: depth + 1)))
        skipSpace()
        guard i < bytes.count else { throw error("unexpected end of the body") }
        if bytes[i] == UInt8(ascii: ",") {
          i += 1
        } else if bytes[i] == UInt8(ascii: "}") {
          i += 1
          return .object(members)
        } else {
          throw error("expected ',' or '}'")
        }
      }
    case UInt8(ascii: "["):
      i += 1
      var items: [JSONValue] = []
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
        i += 1
        return .array(items)
      }
      while true {
        skipSpace()
        items.append(try value(depth: depth + 1))
        skipSpace()
        guard i < bytes.count else { throw error("unexpected end of the body") }
        if bytes[i] == UInt8(ascii: ",") {
          i += 1
        } else if bytes[i] == UInt8(ascii: "]") {
          i += 1
          return .array(items)
        } else {
          throw error("expected ',' or ']'")
        }
      }
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): return try expect("true", .bool(true))
    case UInt8(ascii: "f"): return try expect("false", .bool(false))
    case UInt8(ascii: "n"): return try expect("null", .null)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
    default: throw error("unexpected character")
    }
  }

  private mutating func digits() -> Int {
    let start = i
    while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
    return i - start
  }

  private mutating func number() throws(JSONSyntaxError) -> JSONValue {
    let start = i
    if bytes[i] == UInt8(ascii: "-") { i += 1 }
    let first = i
    let whole = digits()
    guard whole > 0 else { throw error("expected a digit") }
    if whole > 1, bytes[first] == UInt8(ascii: "0") {
      i = first + 1
      throw error("a number cannot start with 0")
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
      i += 1
      guard digits() > 0 else { throw error("expected a digit after '.'") }
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
      i += 1
      if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
        i += 1
      }
      guard digits() > 0 else { throw error("expected a digit in the exponent") }
    }
    return .number(String(decoding: bytes[start..<i], as: UTF8.self))
  }

  private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
    guard i + 4 <= bytes.count else { throw error("unexpected end in a \\u escape") }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[i]
      let d: UInt8
      switch c {
      case 48...57: d = c - 48
      case 65...70: d = c - 55
      case 97...102: d = c - 87
      default: throw error("expected a hexadecimal digit")
      }
      v = v << 4 | UInt32(d)
      i += 1
    }
    return v
  }

  private mutating func string() throws(JSONSyntaxError) -> String {
    i += 1
    let start = i
    // The common case: no escapes.
    var ascii = true
    while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"),
      bytes[i] >= 0x20
    {
      ascii = ascii && bytes[i] < 0x80
      i += 1
    }
    guard i < bytes.count else { throw error("unterminated string") }
    if bytes[i] == UInt8(ascii: "\""), ascii {  // ASCII: valid UTF-8 as it is
      i += 1
      return String(decoding: bytes[start..<i - 1], as: UTF8.self)
    }
    if bytes[i] == UInt8(ascii: "\"") {  // no escapes: the text is the bytes as they are
      guard let text = String(validating: bytes[start..<i], as: UTF8.self) else {
        i = start
        throw error("a string that is not valid UTF-8")
      }
      i += 1
      return text
    }
    var out = [UInt8](bytes[start..<i])
    while bytes[i] != UInt8(ascii: "\"") {
      let c = bytes[i]
      if c < 0x20 { throw error("a control character inside a string") }
      if c != UInt8(ascii: "\\") {
        out.append(c)
        i += 1
      } else {
        i += 1
        guard i < bytes.count else { throw error("unterminated string") }
        let e = bytes[i]
        i += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
        case UInt8(ascii: "b"): out.append(8)
        case UInt8(ascii: "f"): out.append(12)
        case UInt8(ascii: "n"): out.append(10)
        case UInt8(ascii: "r"): out.append(13)
        case UInt8(ascii: "t"): out.append(9)
        case UInt8(ascii: "u"):
          var scalar = try hex4()
          if scalar >= 0xD800, scalar < 0xDC00 {
            guard i + 2 <= bytes.count, bytes[i] == UInt8(ascii: "\\"),
              bytes[i + 1] == UInt8(ascii: "u")
            else { throw error("a lone surrogate in a \\u escape") }
            i += 2
            let low = try hex4()
            guard low >= 0xDC00, low < 0xE000 else {
              throw error("a lone surrogate in a \\u escape")
            }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          } else if scalar >= 0xDC00, scalar < 0xE000 {
            throw error("a lone surrogate in a \\u escape")
          }
          out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
        default:
          i -= 1
          throw error("an unknown escape")
        }
      }
      guard i < bytes.count else { throw error("unterminated string") }
    }
    i += 1
    guard let text = String(validating: out, as: UTF8.self) else {
      i = start
      throw error("a string that is not valid UTF-8")
    }
    return text
  }
}

/// Compact JSON text, written piece by piece.
public struct JSONWriter {
  public private(set) var text = ""

  public init() {}

  public mutating func raw(_ s: String) { text += s }

  public mutating func string(_ s: String) { text += Safetensors.jsonString(s) }

  /// A finite number as Swift prints it (the shortest text that reads back to the same Float,
  /// as `mlpc predict` writes it).
  public mutating func number(_ x: Float) { text += "\(x)" }

  public mutating func number(_ x: Int) { text += "\(x)" }

  /// `"key":` inside an object.
  public mutating func key(_ k: String) {
    string(k)
    text += ":"
  }

  /// A JSON value written back.
  public mutating func value(_ v: JSONValue) {
    switch v {
    case .null: raw("null")
    case .bool(let b): raw(b ? "true" : "false")
    case .number(let t): raw(t)
    case .string(let s): string(s)
    case .array(let items):
      raw("[")
      for (k, item) in items.enumerated() {
        if k > 0 { raw(",") }
        value(item)
      }
      raw("]")
    case .object(let members):
      raw("{")
      for (k, (name, item)) in members.enumerated() {
        if k > 0 { raw(",") }
        key(name)
        value(item)
      }
      raw("}")
    }
  }
}

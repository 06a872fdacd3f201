// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte range, then raw
// little-endian data. Keys are written sorted, so equal tensors give byte-identical files.

import Foundation

/// A named float tensor.
public struct NamedTensor: Sendable, Equatable {
  public var name: String
  public var shape: [Int]
  public var values: [Float]

  public init(name: String, shape: [Int], values: [Float]) {
    precondition(shape.reduce(1, *) == values.count)
    self.name = name
    self.shape = shape
    self.values = values
  }
}

/// Reads and writes safetensors files of F32 tensors.
public enum Safetensors {
  /// The file's bytes; `metadata` goes into `__metadata__` (string values only).
  public static func encode(_ tensors: [NamedTensor], metadata: [String: String] = [:]) -> Data {
    let sorted = tensors.sorted { $0.name < $1.name }
    var entries: [String] = []
    var offset = 0
    for t in sorted {
      let bytes = t.values.count * 4
      entries.append(
        "\(jsonString(t.name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
      )
      offset += bytes
    }
    if !metadata.isEmpty {
      let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
      entries.insert("\"__metadata__\":{\(pairs.joined(separator: ","))}", at: 0)
    }
    var header = Array("{\(entries.joined(separator: ","))}".utf8)
    while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
    var data = Data()
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: header)
    for t in sorted {
      for v in t.values {
        withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
      }
    }
    return data
  }

  /// Parses a file written by `encode` (F32 tensors only); nil when malformed.
  public static func decode(_ data: Data) -> (tensors: [NamedTensor], metadata: [String: String])? {
    let bytes = [UInt8](data)
    guard bytes.count >= 8 else { return nil }
    let length = bytes[0..<8].enumerated().reduce(UInt64(0)) {
      $0 | UInt64($1.element) << (8 * UInt64($1.offset))
    }
    guard length <= UInt64(bytes.count - 8),
      let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<8 + Int(length)]))
        as? [String: Any]
    else { return nil }
    let base = 8 + Int(length)
    var tensors: [NamedTensor] = []
    var metadata: [String: String] = [:]
    for (name, value) in header {
      if name == "__metadata__" {
        metadata = value as? [String: String] ?? [:]
        continue
      }
      guard let entry = value as? [String: Any], entry["dtype"] as? String == "F32",
        let shape = entry["shape"] as? [Int], let range = entry["data_offsets"] as? [Int],
        range.count == 2,
        range[0] >= 0, range[1] >= range[0], base + range[1] <= bytes.count,
        (range[1] - range[0]) == shape.reduce(1, *) * 4
      else { return nil }
      var values: [Float] = []
      values.reserveCapacity(shape.reduce(1, *))
      var i = base + range[0]
      while i < base + range[1] {
        let bits =
          UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(
            bytes[i + 3]) << 24
        values.append(Float(bitPattern: bits))
        i += 4
      }
      tensors.append(NamedTensor(name: name, shape: shape, values: values))
    }
    return (tensors.sorted { $0.name < $1.name }, metadata)
  }

  private static func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 {
          out += String(format: "\\u%04x", scalar.value)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}

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
    data.reserveCapacity(8 + header.count + offset)
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: header)
    for t in sorted {
      #if _endian(little)
        // The values' own bytes are the file's: one append per tensor, not one per value
        // (about 100 ns each: a checkpoint of 100,000 values took 10 ms).
        t.values.withUnsafeBytes { data.append(contentsOf: $0) }
      #else
        for v in t.values {
          withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
      #endif
    }
    return data
  }

  /// Parses a file written by `encode` (F32 tensors only); nil when malformed.
  public static func decode(_ data: Data) -> (tensors: [NamedTensor], metadata: [String: String])? {
    try? read(data)
  }

  /// safetensors' own bound on the header (its `MAX_HEADER_SIZE`).
  public static let maximumHeaderBytes = 100_000_000

  /// Parses safetensors bytes of F32 tensors, checking every size and offset with
  /// overflow-checked arithmetic against the file's length before anything is allocated or read:
  /// the header inside the file, each tensor's bytes equal to its shape's, and the tensors
  /// covering the data section exactly, in order, without gaps or overlaps (as safetensors
  /// itself requires). The error names what is wrong.
  public static func read(_ data: Data) throws(SafetensorsError) -> (
    tensors: [NamedTensor], metadata: [String: String]
  ) {
    guard data.count >= 8 else {
      throw SafetensorsError("it is \(data.count) bytes, too short for a safetensors header")
    }
    let length = data.prefix(8).enumerated().reduce(UInt64(0)) {
      $0 | UInt64($1.element) << (8 * UInt64($1.offset))
    }
    guard length <= UInt64(min(maximumHeaderBytes, data.count - 8)) else {
      throw SafetensorsError(
        "its header length \(length) does not fit the file's \(data.count) bytes")
    }
    let base = data.startIndex + 8 + Int(length)
    let header = data[(data.startIndex + 8)..<base]
    guard header.first == UInt8(ascii: "{"),
      let object = try? JSONSerialization.jsonObject(with: header) as? [String: Any]
    else { throw SafetensorsError("its header is not a JSON object") }
    let available = data.count - 8 - Int(length)
    var metadata: [String: String] = [:]
    var entries: [(name: String, shape: [Int], begin: Int, end: Int)] = []
    for (name, value) in object {
      if name == "__metadata__" {
        guard let strings = value as? [String: String] else {
          throw SafetensorsError("its __metadata__ is not a map of strings")
        }
        metadata = strings
        continue
      }
      let shown = "tensor '\(safeText(name, limit: 60))'"
      guard let entry = value as? [String: Any] else {
        throw SafetensorsError("\(shown) is not described by an object")
      }
      guard let dtype = entry["dtype"] as? String, dtype == "F32" else {
        throw SafetensorsError("\(shown) is not float32 (F32), the only type mlpc reads")
      }
      guard let shape = entry["shape"] as? [Int], shape.allSatisfy({ $0 >= 0 }) else {
        throw SafetensorsError("\(shown) has no valid shape")
      }
      guard let range = entry["data_offsets"] as? [Int], range.count == 2 else {
        throw SafetensorsError("\(shown) has no valid data_offsets")
      }
      var bytes = 4
      for extent in shape {
        let (product, overflow) = bytes.multipliedReportingOverflow(by: extent)
        guard !overflow, product <= available else {
          throw SafetensorsError(
            "\(shown) of shape \(shape.prefix(8)) needs more bytes than the file holds")
        }
        bytes = product
      }
      guard 0 <= range[0], range[0] <= range[1], range[1] <= available else {
        throw SafetensorsError(
          "\(shown) has data_offsets \(range) outside the file's \(available) bytes of data")
      }
      guard range[1] - range[0] == bytes else {
        throw SafetensorsError(
          "\(shown) has \(range[1] - range[0]) bytes of data where its shape \(shape) needs \(bytes)"
        )
      }
      entries.append((name, shape, range[0], range[1]))
    }
    // The tensors cover the data section exactly: in offset order, each begins where the one
    // before it ends.
    entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
    var next = 0
    for entry in entries {
      guard entry.begin == next else {
        throw SafetensorsError(
          "tensor '\(safeText(entry.name, limit: 60))' "
            + (entry.begin < next
              ? "overlaps the tensor before it" : "leaves a gap of \(entry.begin - next) bytes"))
      }
      next = entry.end
    }
    guard next == available else {
      throw SafetensorsError("\(available - next) bytes after the last tensor belong to none")
    }
    let tensors = entries.map { entry in
      let values = [Float](unsafeUninitializedCapacity: (entry.end - entry.begin) / 4) {
        buffer, count in
        data[(base + entry.begin)..<(base + entry.end)].withUnsafeBytes { raw in
          for i in 0..<buffer.count {
            buffer[i] = Float(
              bitPattern: UInt32(
                littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
          }
        }
        count = buffer.count
      }
      return NamedTensor(name: entry.name, shape: entry.shape, values: values)
    }
    return (tensors.sorted { $0.name < $1.name }, metadata)
  }

  /// `s` as a JSON string literal (quotes, backslashes and control characters escaped).
  public static func jsonString(_ s: String) -> String {
    // Most strings (names) need no escaping: quoted as they are.
    if s.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
      return "\"" + s + "\""
    }
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

/// Why bytes are not a safetensors file mlpc can read.
public struct SafetensorsError: Error, CustomStringConvertible, Sendable {
  public var description: String
  init(_ description: String) { self.description = description }
}

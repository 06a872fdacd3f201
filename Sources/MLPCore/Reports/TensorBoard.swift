// TensorBoard event files, written directly: TFRecord framing (length, masked CRC-32C of the
// length, the record, masked CRC-32C of the record) around `Event` messages in protobuf's wire
// format. The few messages needed (Event, Summary, SummaryMetadata, TensorProto, the HParams
// plugin's SessionStartInfo/SessionEndInfo and google.protobuf.Value) are written field by field
// from tensorboard/compat/proto/*.proto and tensorboard/plugins/hparams/plugin_data.proto: a
// dozen fields, write-only, with no generated code to keep in step; a test reads the files back
// with TensorBoard's own EventAccumulator.
//
// A run's file holds: the file version, the resolved spec as text (tag `settings`), the HParams
// session start (the settings as hyperparameters), one event per epoch with every metric of its
// metrics.jsonl line (tags in `TrackedMetrics`), and the session end when training ends.

import Foundation

/// The protobuf wire format, as far as event files need it.
struct ProtoWriter {
  private(set) var bytes: [UInt8] = []

  mutating func tag(_ field: Int, _ wireType: UInt64) { rawVarint(UInt64(field) << 3 | wireType) }

  mutating func rawVarint(_ value: UInt64) {
    var v = value
    while v >= 0x80 {
      bytes.append(UInt8(v & 0x7f) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }

  mutating func varint(_ field: Int, _ value: UInt64) {
    tag(field, 0)
    rawVarint(value)
  }

  mutating func double(_ field: Int, _ value: Double) {
    tag(field, 1)
    withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
  }

  mutating func float(_ field: Int, _ value: Float) {
    tag(field, 5)
    withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
  }

  mutating func data(_ field: Int, _ value: [UInt8]) {
    tag(field, 2)
    rawVarint(UInt64(value.count))
    bytes += value
  }

  mutating func string(_ field: Int, _ value: String) { data(field, Array(value.utf8)) }

  mutating func message(_ field: Int, _ build: (inout ProtoWriter) -> Void) {
    var inner = ProtoWriter()
    build(&inner)
    data(field, inner.bytes)
  }
}

/// The top-level fields of a protobuf message: (field number, wire type, varint value or the
/// bytes of a length-delimited field). Nil when the bytes are not a well-formed message.
func protoFields(_ bytes: ArraySlice<UInt8>) -> [(
  field: Int, wireType: Int, value: UInt64, data: ArraySlice<UInt8>
)]? {
  var out: [(Int, Int, UInt64, ArraySlice<UInt8>)] = []
  var i = bytes.startIndex
  func varint() -> UInt64? {
    var value: UInt64 = 0
    var shift: UInt64 = 0
    while i < bytes.endIndex, shift < 64 {
      let b = bytes[i]
      i += 1
      value |= UInt64(b & 0x7f) << shift
      if b < 0x80 { return value }
      shift += 7
    }
    return nil
  }
  while i < bytes.endIndex {
    guard let key = varint() else { return nil }
    let (field, wire) = (Int(key >> 3), Int(key & 7))
    switch wire {
    case 0:
      guard let v = varint() else { return nil }
      out.append((field, wire, v, bytes[i..<i]))
    case 1, 5:
      let n = wire == 1 ? 8 : 4
      guard bytes.endIndex - i >= n else { return nil }
      out.append((field, wire, 0, bytes[i..<i + n]))
      i += n
    case 2:
      guard let n = varint(), n <= UInt64(bytes.endIndex - i) else { return nil }
      out.append((field, wire, n, bytes[i..<i + Int(n)]))
      i += Int(n)
    default: return nil
    }
  }
  return out
}

/// CRC-32C (Castagnoli), as TFRecord frames use it.
enum CRC32C {
  static let table: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
    return c
  }

  static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
    var crc: UInt32 = 0xFFFF_FFFF
    table.withUnsafeBufferPointer { t in
      for b in bytes { crc = t[Int((crc ^ UInt32(b)) & 0xff)] ^ (crc >> 8) }
    }
    return crc ^ 0xFFFF_FFFF
  }

  /// The masked form TFRecord stores (a CRC of data holding CRCs is then not degenerate).
  static func masked<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
    let crc = checksum(bytes)
    return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
  }
}

/// TFRecord framing.
enum TFRecord {
  static func frame(_ record: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(record.count + 16)
    frame(record, into: &out)
    return out
  }

  static func frame(_ record: [UInt8], into out: inout [UInt8]) {
    let length = withUnsafeBytes(of: UInt64(record.count).littleEndian) { Array($0) }
    out += length
    withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { out += $0 }
    out += record
    withUnsafeBytes(of: CRC32C.masked(record).littleEndian) { out += $0 }
  }

  /// The records of `bytes`, up to the first torn or corrupt one (a run killed while writing
  /// leaves a torn last record).
  static func records(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    var out: [ArraySlice<UInt8>] = []
    var i = 0
    func u32(_ at: Int) -> UInt32 {
      bytes[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
    while bytes.count - i >= 12 {
      let header = bytes[i..<i + 8]
      let length = header.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
      guard CRC32C.masked(header) == u32(i + 8), length <= UInt64(bytes.count - i - 16) else {
        break
      }
      let start = i + 12
      let record = bytes[start..<start + Int(length)]
      guard CRC32C.masked(record) == u32(start + Int(length)) else { break }
      out.append(record)
      i = start + Int(length) + 4
    }
    return out
  }
}

/// The events of a run's TensorBoard file.
public enum TensorBoardEvent {
  /// The tag of the resolved spec's text summary.
  public static let settingsTag = "settings"
  static let sessionStartTag = "_hparams_/session_start_info"
  static let sessionEndTag = "_hparams_/session_end_info"

  /// How a session ended, as the HParams plugin's `Status`.
  public enum Status: UInt64, Sendable {
    case success = 1
    case failure = 2
    case running = 3
  }

  private static func event(wallTime: Double, step: Int, _ body: (inout ProtoWriter) -> Void)
    -> [UInt8]
  {
    var e = ProtoWriter()
    e.double(1, wallTime)
    if step != 0 { e.varint(2, UInt64(bitPattern: Int64(step))) }
    body(&e)
    return TFRecord.frame(e.bytes)
  }

  /// The first event of every file.
  static func fileVersion(wallTime: Double) -> [UInt8] {
    event(wallTime: wallTime, step: 0) { $0.string(3, "brain.Event:2") }
  }

  /// A text summary (the text plugin: a scalar string tensor).
  static func text(_ tag: String, _ text: String, wallTime: Double) -> [UInt8] {
    event(wallTime: wallTime, step: 0) { e in
      e.message(5) { summary in
        summary.message(1) { v in
          v.string(1, tag)
          v.message(9) { metadata in
            // TextPluginData is empty at version 0.
            metadata.message(1) { $0.string(1, "text") }
          }
          v.message(8) { tensor in
            tensor.varint(1, 7)  // DT_STRING
            tensor.message(2) { _ in }  // a scalar: no dimensions
            tensor.string(8, text)
          }
        }
      }
    }
  }

  /// An HParams plugin summary: `HParamsPluginData` (version 0) with field `field` built by
  /// `body`, over the plugin's empty float tensor.
  private static func hparams(
    _ tag: String, field: Int, wallTime: Double, step: Int,
    _ body: @escaping (inout ProtoWriter) -> Void
  ) -> [UInt8] {
    event(wallTime: wallTime, step: step) { e in
      e.message(5) { summary in
        summary.message(1) { v in
          v.string(1, tag)
          v.message(9) { metadata in
            metadata.message(1) { plugin in
              plugin.string(1, "hparams")
              var content = ProtoWriter()
              content.message(field, body)
              plugin.data(2, content.bytes)
            }
          }
          v.message(8) { tensor in
            tensor.varint(1, 1)  // DT_FLOAT
            tensor.message(2) { shape in shape.message(2) { _ in } }  // shape [0]
          }
        }
      }
    }
  }

  /// The session's start: its hyperparameters (`google.protobuf.Value`s) and start time.
  static func sessionStart(
    _ settings: [(key: String, value: SettingValue)], group: String, wallTime: Double
  ) -> [UInt8] {
    hparams(sessionStartTag, field: 3, wallTime: wallTime, step: 0) { start in
      for (key, value) in settings {
        start.message(1) { entry in
          entry.string(1, key)
          entry.message(2) { v in
            switch value {
            case .int(let i): v.double(2, Double(i))
            case .number(let d): v.double(2, d)
            case .bool(let b): v.varint(4, b ? 1 : 0)
            case .string(let s): v.string(3, s)
            case .numbers(let xs): v.string(3, xs.map { "\($0)" }.joined(separator: ","))
            case .null: v.varint(1, 0)
            }
          }
        }
      }
      if !group.isEmpty { start.string(4, group) }
      start.double(5, wallTime)
    }
  }

  /// The session's end.
  static func sessionEnd(_ status: Status, step: Int, wallTime: Double) -> [UInt8] {
    hparams(sessionEndTag, field: 4, wallTime: wallTime, step: step) { end in
      end.varint(1, status.rawValue)
      end.double(2, wallTime)
    }
  }

  /// The step of an event record, and whether it is a file version or holds a summary with
  /// `tag`; nil for a record that is not an event.
  static func inspect(_ record: ArraySlice<UInt8>) -> (
    step: Int, fileVersion: Bool, tags: [String]
  )? {
    guard let fields = protoFields(record) else { return nil }
    var step = 0
    var fileVersion = false
    var tags: [String] = []
    for f in fields {
      switch (f.field, f.wireType) {
      case (2, 0): step = Int(Int64(bitPattern: f.value))
      case (3, 2): fileVersion = true
      case (5, 2):
        for value in protoFields(f.data) ?? [] where value.field == 1 && value.wireType == 2 {
          for t in protoFields(value.data) ?? [] where t.field == 1 && t.wireType == 2 {
            tags.append(String(decoding: t.data, as: UTF8.self))
          }
        }
      default: break
      }
    }
    return (step, fileVersion, tags)
  }
}

/// The metrics a run tracks per epoch, by the names TensorBoard and MLflow show: the splits'
/// metrics as `train/loss`, `validation/accuracy`, …, then `learning_rate` and `seconds`; each
/// is a number of the epoch's metrics.jsonl line (non-finite ones are left out, as that line
/// writes them null).
public enum TrackedMetrics {
  /// Every tag, in order; `forEach` passes each value with its index here.
  static let tags: [String] =
    ["train/loss"] + MetricName.allCases.map { "validation/\($0.rawValue)" }
    + MetricName.allCases.map { "test/\($0.rawValue)" } + ["learning_rate", "seconds"]

  /// Calls `each` with the index in `tags` and the value of every metric of `report`, in order.
  @inline(__always)
  static func forEach(_ report: EpochReport, _ each: (Int, Double) -> Void) {
    if report.trainLoss.isFinite { each(0, report.trainLoss) }
    let count = MetricName.allCases.count
    for (offset, evaluation) in [(1, report.validation), (1 + count, report.test)] {
      guard let e = evaluation else { continue }
      for (i, metric) in MetricName.allCases.enumerated() {
        if let x = e[metric], x.isFinite { each(offset + i, x) }
      }
    }
    if let rate = report.learningRate, rate.isFinite { each(1 + 2 * count, rate) }
    if report.seconds.isFinite { each(2 + 2 * count, report.seconds) }
  }

  public static func of(_ report: EpochReport) -> [(tag: String, value: Double)] {
    var out: [(String, Double)] = []
    forEach(report) { out.append((tags[$0], $1)) }
    return out
  }
}

/// The event of an epoch's scalars, fast: a W2 epoch takes about 20 µs, so the constant bytes of
/// each tag's `Summary.Value` are encoded once and only the numbers are written per epoch.
final class EpochEventEncoder {
  /// Per tag of `TrackedMetrics.tags`: the `Summary.Value` field's header and length, and the
  /// tag field.
  private let prefixes: [[UInt8]] = TrackedMetrics.tags.map { tag in
    var tagField = ProtoWriter()
    tagField.string(1, tag)
    var header = ProtoWriter()
    header.tag(1, 2)
    header.rawVarint(UInt64(tagField.bytes.count + 5))
    return header.bytes + tagField.bytes
  }
  private var event: [UInt8] = []

  /// Appends the framed event of `report` to `out`.
  func encode(_ report: EpochReport, wallTime: Double, into out: inout [UInt8]) {
    var length = 0
    TrackedMetrics.forEach(report) { i, _ in length += prefixes[i].count + 5 }
    var e = ProtoWriter()
    e.double(1, wallTime)
    if report.epoch != 0 { e.varint(2, UInt64(bitPattern: Int64(report.epoch))) }
    e.tag(5, 2)
    e.rawVarint(UInt64(length))
    event.removeAll(keepingCapacity: true)
    event += e.bytes
    TrackedMetrics.forEach(report) { i, value in
      event += prefixes[i]
      event.append(0x15)  // field 2, fixed32: simple_value
      withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { event += $0 }
    }
    TFRecord.frame(event, into: &out)
  }
}

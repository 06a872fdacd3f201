// A streaming CSV reader (RFC 4180: quoted fields, doubled quotes, CRLF, blank lines skipped)
// that fills Float matrices directly, so a 400 MB file never exists as strings. Every bad cell
// becomes a diagnostic at `file:line:col`.

import Foundation

/// Which columns to read from a CSV file and how.
public struct CSVColumns: Sendable {
  /// Column indices copied, in order, into the feature matrix.
  public var features: [Int]
  /// Column indices parsed as real-valued targets (regression).
  public var numericTargets: [Int]
  /// Column index kept as text (a class label), if any.
  public var label: Int?

  public init(features: [Int], numericTargets: [Int] = [], label: Int? = nil) {
    self.features = features
    self.numericTargets = numericTargets
    self.label = label
  }
}

/// The rows of a CSV file, as matrices.
public struct CSVContents: Sendable {
  public var features: [Float] = []
  public var targets: [Float] = []
  public var labels: [String] = []
  /// Where each label cell starts; turned into a `SourceLocation` only when reported.
  var labelCells: [CSVReader.Cursor] = []
  /// The reader the cells refer to.
  var source: CSVReader?

  /// The location of label `i` (for out-of-range label diagnostics).
  public func labelLocation(_ i: Int) -> SourceLocation? { source?.location(labelCells[i]) }
  public var rows = 0
}

/// Reads CSV files byte by byte from a read-only memory map, releasing pages already parsed so a
/// large file never needs its own size in memory.
// Immutable after init (a read-only mapping), so sharing it across threads is safe.
public final class CSVReader: @unchecked Sendable {
  public let path: String
  public let delimiter: UInt8
  private let bytes: UnsafeBufferPointer<UInt8>
  /// 10^0 … 10^22, all exact doubles (a plain pointer: no lazy-global check per cell).
  private let powersOfTen: UnsafeMutablePointer<Double> = {
    let p = UnsafeMutablePointer<Double>.allocate(capacity: 23)
    for k in 0...22 { p[k] = pow(10, Double(k)) }
    return p
  }()
  private let mapped: Bool
  /// Stop collecting cell errors after this many.
  static let errorLimit = 20
  /// Parsed pages are handed back to the kernel in steps of this many bytes.
  static let releaseStep = 16 << 20

  /// Opens `path`; nil and a diagnostic when it cannot be read.
  public init?(
    path: String, delimiter: UInt8 = UInt8(ascii: ","), diagnostics: inout [Diagnostic],
    reference: SourceLocation?
  ) {
    self.path = path
    self.delimiter = delimiter
    let fd = open(path, O_RDONLY)
    var info = stat()
    if fd >= 0, fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0,
      let base = mmap(nil, Int(info.st_size), PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED
    {
      close(fd)
      bytes = UnsafeBufferPointer(
        start: base.assumingMemoryBound(to: UInt8.self), count: Int(info.st_size))
      mapped = true
      return
    }
    if fd >= 0 { close(fd) }
    guard let data = FileManager.default.contents(atPath: path) else {
      let why = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
      diagnostics.append(.error(.fileUnreadable, "data file '\(path)' \(why)", at: reference))
      return nil
    }
    let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(data.count, 1))
    _ = copy.initialize(from: data)
    bytes = UnsafeBufferPointer(start: copy.baseAddress, count: data.count)
    mapped = false
  }

  deinit {
    powersOfTen.deallocate()
    if mapped {
      munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    } else {
      bytes.deallocate()
    }
  }

  /// Line breaks in the file plus one: an upper bound on its rows, to size matrices once.
  private func lineCount() -> Int {
    var count = 1
    var released = 0
    var offset = 0
    while offset < bytes.count {
      let end = min(bytes.count, offset + Self.releaseStep)
      for i in offset..<end { count &+= bytes[i] == 10 ? 1 : 0 }
      offset = end
      release(upTo: offset, from: &released)
    }
    return count
  }

  /// Drops the mapped pages before `offset` from memory (they are re-read if touched again).
  private func release(upTo offset: Int, from start: inout Int) {
    let offset = min(offset, bytes.count)
    guard mapped, offset - start >= Self.releaseStep || offset == bytes.count,
      let base = bytes.baseAddress
    else { return }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let end = offset == bytes.count ? offset : offset / page * page
    guard end > start else { return }
    madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    start = end
  }

  /// The header row's column names (empty and a diagnostic for an empty file).
  public func header(diagnostics: inout [Diagnostic]) -> [String] {
    var cursor = start()
    skipBlankLines(&cursor)
    guard cursor.offset < bytes.count else {
      diagnostics.append(
        .error(
          .emptyData, "data file '\(path)' is empty; it needs a header row", at: location(cursor)))
      return []
    }
    return readRecord(&cursor).map { text($0).trimmingCharacters(in: .whitespaces) }
  }

  /// Reads every data row (after the header), filling matrices for `columns`.
  public func rows(_ columns: CSVColumns, width: Int, diagnostics: inout [Diagnostic])
    -> CSVContents
  {
    var cursor = start()
    var out = CSVContents()
    out.source = self
    var errors = 0
    skipBlankLines(&cursor)
    _ = readRecord(&cursor)
    let rowsAtMost = lineCount()
    out.features.reserveCapacity(rowsAtMost * columns.features.count)
    out.targets.reserveCapacity(rowsAtMost * columns.numericTargets.count)
    var released = 0
    var fields: [Field] = []
    while true {
      release(upTo: cursor.offset, from: &released)
      skipBlankLines(&cursor)
      guard cursor.offset < bytes.count else { break }
      let start = cursor
      readRecord(&cursor, into: &fields)
      if fields.count != width {
        errors += 1
        if errors <= Self.errorLimit {
          diagnostics.append(
            .error(
              .badData, "row has \(fields.count) fields but the header has \(width)",
              at: location(start)))
        }
        continue
      }
      for c in columns.features { out.features.append(number(fields[c], &errors, &diagnostics)) }
      for c in columns.numericTargets {
        out.targets.append(number(fields[c], &errors, &diagnostics))
      }
      if let c = columns.label {
        out.labels.append(text(fields[c]).trimmingCharacters(in: .whitespaces))
        out.labelCells.append(fields[c].cursor)
      }
      out.rows += 1
    }
    if errors > Self.errorLimit {
      diagnostics.append(
        .error(
          .badData, "\(errors - Self.errorLimit) more bad cells or rows in '\(path)' not shown",
          at: nil))
    }
    return out
  }

  // MARK: - Scanning

  /// A cursor at the first byte after a UTF-8 byte-order mark, if the file has one.
  private func start() -> Cursor {
    var c = Cursor()
    if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
      c.offset = 3
      c.lineStart = 3
    }
    return c
  }

  struct Cursor {
    var offset = 0
    var line = 1
    var lineStart = 0
  }

  struct Field {
    var cursor: Cursor
    var start: Int
    var end: Int
    var quoted: Bool
  }

  private func skipBlankLines(_ c: inout Cursor) {
    while c.offset < bytes.count,
      bytes[c.offset] == UInt8(ascii: "\n") || bytes[c.offset] == UInt8(ascii: "\r")
    {
      if bytes[c.offset] == UInt8(ascii: "\n") { newline(&c) } else { c.offset += 1 }
    }
  }

  private func newline(_ c: inout Cursor) {
    c.offset += 1
    c.line += 1
    c.lineStart = c.offset
  }

  /// Reads one record and leaves the cursor after its line break.
  private func readRecord(_ c: inout Cursor) -> [Field] {
    var fields: [Field] = []
    readRecord(&c, into: &fields)
    return fields
  }

  /// Reads one record into `fields` (cleared first, capacity kept).
  private func readRecord(_ c: inout Cursor, into fields: inout [Field]) {
    fields.removeAll(keepingCapacity: true)
    while true {
      let fieldStart = c
      var field = Field(cursor: fieldStart, start: c.offset, end: c.offset, quoted: false)
      if c.offset < bytes.count, bytes[c.offset] == UInt8(ascii: "\"") {
        field.quoted = true
        c.offset += 1
        field.start = c.offset
        while c.offset < bytes.count {
          let b = bytes[c.offset]
          if b == UInt8(ascii: "\"") {
            if c.offset + 1 < bytes.count, bytes[c.offset + 1] == UInt8(ascii: "\"") {
              c.offset += 2
              continue
            }
            break
          }
          if b == UInt8(ascii: "\n") { newline(&c) } else { c.offset += 1 }
        }
        field.end = c.offset
        if c.offset < bytes.count { c.offset += 1 }
        while c.offset < bytes.count, bytes[c.offset] != delimiter,
          bytes[c.offset] != UInt8(ascii: "\n")
        {
          c.offset += 1
        }
      } else {
        while c.offset < bytes.count, bytes[c.offset] != delimiter,
          bytes[c.offset] != UInt8(ascii: "\n")
        {
          c.offset += 1
        }
        field.end = c.offset
        if field.end > field.start, bytes[field.end - 1] == UInt8(ascii: "\r") { field.end -= 1 }
      }
      fields.append(field)
      if c.offset < bytes.count, bytes[c.offset] == delimiter {
        c.offset += 1
        continue
      }
      if c.offset < bytes.count { newline(&c) }
      return
    }
  }

  private func text(_ f: Field) -> String {
    let s = String(decoding: bytes[f.start..<f.end], as: UTF8.self)
    return f.quoted ? s.replacingOccurrences(of: "\"\"", with: "\"") : s
  }

  func location(_ c: Cursor) -> SourceLocation {
    let prefix = bytes[c.lineStart..<c.offset]
    let column = String(decoding: prefix, as: UTF8.self).unicodeScalars.count + 1
    return SourceLocation(file: path, line: c.line, column: column)
  }

  private func number(_ f: Field, _ errors: inout Int, _ diagnostics: inout [Diagnostic]) -> Float {
    if let value = parseNumber(f.start, f.end) { return value }
    errors += 1
    if errors <= Self.errorLimit {
      let shown = text(f)
      let what =
        shown.trimmingCharacters(in: .whitespaces).isEmpty
        ? "empty cell" : "'\(shown.prefix(40))' is not a number"
      diagnostics.append(.error(.badData, "\(what) in a numeric column", at: location(f.cursor)))
    }
    return .nan
  }

  /// Parses a decimal number in bytes[start..<end] (spaces around are allowed).
  private func parseNumber(_ start: Int, _ end: Int) -> Float? {
    var i = start
    var j = end
    while i < j, bytes[i] == 32 || bytes[i] == 9 { i += 1 }
    while j > i, bytes[j - 1] == 32 || bytes[j - 1] == 9 { j -= 1 }
    guard i < j else { return nil }
    if let fast = fastDecimal(i, j) { return fast }
    let s = String(decoding: bytes[i..<j], as: UTF8.self)
    guard let d = Double(s), Float(d).isFinite else { return nil }
    return Float(d)
  }

  /// [-+]digits[.digits][e[-+]digits] with at most 18 significant digits, else nil.
  private func fastDecimal(_ start: Int, _ end: Int) -> Float? {
    var i = start
    var negative = false
    if bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
      negative = bytes[i] == UInt8(ascii: "-")
      i += 1
    }
    var mantissa: UInt64 = 0
    var digits = 0
    var scale = 0
    var sawDigit = false
    while i < end, bytes[i] &- 48 < 10 {
      mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- 48)
      if mantissa > 0 { digits += 1 }
      sawDigit = true
      i += 1
    }
    if i < end, bytes[i] == UInt8(ascii: ".") {
      i += 1
      while i < end, bytes[i] &- 48 < 10 {
        mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- 48)
        if mantissa > 0 { digits += 1 }
        scale -= 1
        sawDigit = true
        i += 1
      }
    }
    guard sawDigit, digits <= 18 else { return nil }
    if i < end, bytes[i] | 0x20 == UInt8(ascii: "e") {
      i += 1
      var expNegative = false
      if i < end, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
        expNegative = bytes[i] == UInt8(ascii: "-")
        i += 1
      }
      var exponent = 0
      var sawExp = false
      while i < end, bytes[i] &- 48 < 10, exponent < 10000 {
        exponent = exponent * 10 + Int(bytes[i] &- 48)
        sawExp = true
        i += 1
      }
      guard sawExp else { return nil }
      scale += expNegative ? -exponent : exponent
    }
    guard i == end, abs(scale) <= 22 else { return nil }
    // Exact: the mantissa (< 2^63 after ≤ 18 digits... checked via 10^18) and 10^|scale| ≤ 10^22
    // are both exact doubles when mantissa < 2^53; otherwise one rounding, fine for Float.
    let m = Double(mantissa)
    let value = scale < 0 ? m / powersOfTen[-scale] : m * powersOfTen[scale]
    return Float(negative ? -value : value)
  }
}

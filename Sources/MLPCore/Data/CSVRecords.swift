// Scanning a CSV file's bytes: the cursor and fields of one record (RFC 4180 quoting, CRLF or
// LF, blank lines skipped, a UTF-8 byte-order mark ignored), a field's text and location, and
// the one-pass row reader with its decimal parser, and the slow, field-by-field number parser
// for cells the one-pass reader does not take.

import Foundation

extension CSVReader {
  /// Reads one record of plain numbers (and an unquoted label) in one pass, writing the numbers
  /// to their slots; false, with the cursor unmoved, for anything else.
  @inline(__always)
  func fastRow(
    _ c: inout Cursor, _ layout: RowLayout, _ f: UnsafeMutablePointer<Float>?,
    _ t: UnsafeMutablePointer<Float>?, label: inout Field
  ) -> Bool {
    var i = c.offset
    let n = bytes.count
    for col in 0..<layout.width {
      let fieldStart = i
      if col == layout.label || (layout.featureSlot[col] < 0 && layout.targetSlot[col] < 0) {
        while i < n, bytes[i] != delimiter, bytes[i] != 10 {
          if bytes[i] == 34 { return false }
          i += 1
        }
        if col == layout.label {
          let fieldEnd = i > fieldStart && bytes[i - 1] == 13 ? i - 1 : i
          label = Field(
            cursor: Cursor(offset: fieldStart, line: c.line, lineStart: c.lineStart),
            start: fieldStart, end: fieldEnd, quoted: false)
        }
      } else {
        guard let value = scanDecimal(&i) else { return false }
        if layout.featureSlot[col] >= 0 { f![layout.featureSlot[col]] = value }
        if layout.targetSlot[col] >= 0 { t![layout.targetSlot[col]] = value }
      }
      if col < layout.width - 1 {
        guard i < n, bytes[i] == delimiter else { return false }
        i += 1
      }
    }
    if i < n, bytes[i] == 13 { i += 1 }
    guard i == n || bytes[i] == 10 else { return false }
    c.offset = i
    if i < n { newline(&c) }
    return true
  }

  /// A number ending at a delimiter, a line break or the end of the file; nil otherwise.
  @inline(__always)
  func scanDecimal(_ index: inout Int) -> Float? {
    var i = index
    guard let value = decimal(&i, end: bytes.count),
      i == bytes.count || bytes[i] == delimiter || bytes[i] == 10 || bytes[i] == 13
    else { return nil }
    index = i
    return value
  }

  /// Reads [-+]digits[.digits][e[-+]digits] from bytes[index..<end] ('.' the decimal point),
  /// leaving `index` after it.
  /// With at most 18 significant digits and |scale| ≤ 22 the double result is within an ulp or
  /// two of exact (exact up to 15 digits), far below Float precision; anything else returns nil
  /// and goes through `Double(String)`.
  @inline(__always)
  func decimal(_ index: inout Int, end n: Int) -> Float? {
    var i = index
    var negative = false
    if i < n, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
      negative = bytes[i] == UInt8(ascii: "-")
      i += 1
    }
    var mantissa: UInt64 = 0
    var digits = 0
    var scale = 0
    let integerStart = i
    while i < n, bytes[i] &- 48 < 10 {
      mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- 48)
      digits += mantissa > 0 ? 1 : 0
      i += 1
    }
    var sawDigit = i > integerStart
    if i < n, bytes[i] == decimalPoint {
      i += 1
      let fractionStart = i
      while i < n, bytes[i] &- 48 < 10 {
        mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- 48)
        digits += mantissa > 0 ? 1 : 0
        i += 1
      }
      scale = fractionStart - i
      sawDigit = sawDigit || i > fractionStart
    }
    guard sawDigit, digits <= 18 else { return nil }
    if i < n, bytes[i] | 0x20 == UInt8(ascii: "e") {
      i += 1
      var expNegative = false
      if i < n, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
        expNegative = bytes[i] == UInt8(ascii: "-")
        i += 1
      }
      let exponentStart = i
      var exponent = 0
      while i < n, bytes[i] &- 48 < 10, exponent < 10000 {
        exponent = exponent * 10 + Int(bytes[i] &- 48)
        i += 1
      }
      guard i > exponentStart else { return nil }
      scale += expNegative ? -exponent : exponent
    }
    guard abs(scale) <= 22 else { return nil }
    index = i
    let m = Double(mantissa)
    let value = scale < 0 ? m / powersOfTen[-scale] : m * powersOfTen[scale]
    let result = Float(negative ? -value : value)
    return result.isFinite ? result : nil  // 4e38 overflows Float: the slow path says so
  }

  /// A cursor at the first byte after a UTF-8 byte-order mark, if the file has one.
  func start() -> Cursor {
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

  func skipBlankLines(_ c: inout Cursor) {
    while c.offset < bytes.count,
      bytes[c.offset] == UInt8(ascii: "\n") || bytes[c.offset] == UInt8(ascii: "\r")
    {
      if bytes[c.offset] == UInt8(ascii: "\n") { newline(&c) } else { c.offset += 1 }
    }
  }

  func newline(_ c: inout Cursor) {
    c.offset += 1
    c.line += 1
    c.lineStart = c.offset
  }

  /// Reads one record and leaves the cursor after its line break.
  func readRecord(_ c: inout Cursor) -> [Field] {
    var fields: [Field] = []
    readRecord(&c, into: &fields)
    return fields
  }

  /// Reads one record into `fields` (cleared first, capacity kept).
  func readRecord(_ c: inout Cursor, into fields: inout [Field]) {
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

  func text(_ f: Field) -> String {
    let s = String(decoding: bytes[f.start..<f.end], as: UTF8.self)
    return f.quoted ? s.replacingOccurrences(of: "\"\"", with: "\"") : s
  }

  func location(_ c: Cursor) -> SourceLocation {
    let prefix = bytes[c.lineStart..<c.offset]
    let column = String(decoding: prefix, as: UTF8.self).unicodeScalars.count + 1
    return SourceLocation(file: path, line: c.line, column: column)
  }

  func number(_ f: Field, _ errors: inout Int, _ diagnostics: inout [Diagnostic]) -> Float {
    if let value = parseNumber(f.start, f.end) { return value }
    errors += 1
    if errors <= Self.errorLimit {
      diagnostics.append(
        Diagnostic(.badData, "\(numberProblem(f)) in a numeric column", at: location(f.cursor)))
    }
    return .nan
  }

  /// Parses a decimal number in bytes[start..<end] (spaces around are allowed).
  func parseNumber(_ start: Int, _ end: Int) -> Float? {
    var i = start
    var j = end
    while i < j, bytes[i] == 32 || bytes[i] == 9 { i += 1 }
    while j > i, bytes[j - 1] == 32 || bytes[j - 1] == 9 { j -= 1 }
    guard i < j else { return nil }
    var k = i
    if let fast = decimal(&k, end: j), k == j { return fast }
    var s = String(decoding: bytes[i..<j], as: UTF8.self)
    if decimalPoint != UInt8(ascii: ".") {
      // With a decimal comma, '.' is not a decimal point (it may group digits): not a number.
      guard !s.contains(".") else { return nil }
      s = s.replacingOccurrences(of: String(UnicodeScalar(decimalPoint)), with: ".")
    }
    guard let d = Double(s), Float(d).isFinite else { return nil }
    return Float(d)
  }

  /// Why a cell is not a number: empty, out of single precision's range, or not one at all.
  func numberProblem(_ f: Field) -> String {
    let shown = text(f).trimmingCharacters(in: .whitespaces)
    if shown.isEmpty { return "empty cell" }
    if let d = Double(shown), d.isFinite {
      return "'\(shown.prefix(40))' is outside single precision's range (±3.4e38)"
    }
    return "'\(shown.prefix(40))' is not a number"
  }
}

/// One data record of a streamed file: its fields, readable as text or numbers, with locations.
public struct CSVRecord {
  let reader: CSVReader
  let fields: [CSVReader.Field]
  /// The record's start, for diagnostics about the whole row.
  let cursor: CSVReader.Cursor

  public var count: Int { fields.count }
  public func text(_ i: Int) -> String { reader.text(fields[i]) }
  /// The field's text without spaces and tabs around it, trimmed on the bytes (no Foundation).
  public func trimmedText(_ i: Int) -> String {
    let f = fields[i]
    if f.quoted {
      let s = reader.text(f).unicodeScalars
      let body = s.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }
      return String(String.UnicodeScalarView(body.reversed()))
    }
    var (start, end) = (f.start, f.end)
    while start < end, reader.bytes[start] == 32 || reader.bytes[start] == 9 { start += 1 }
    while end > start, reader.bytes[end - 1] == 32 || reader.bytes[end - 1] == 9 { end -= 1 }
    return String(decoding: reader.bytes[start..<end], as: UTF8.self)
  }
  /// The field as a number (spaces around allowed); nil when it is not one.
  public func number(_ i: Int) -> Float? { reader.parseNumber(fields[i].start, fields[i].end) }
  public func location(_ i: Int) -> SourceLocation { reader.location(fields[i].cursor) }
  public var location: SourceLocation { reader.location(cursor) }
  /// Whether the field is valid UTF-8.
  public func isText(_ i: Int) -> Bool {
    let f = fields[i]
    return String(validating: reader.bytes[f.start..<f.end], as: UTF8.self) != nil
  }
  /// The checker's diagnostic for a row not as wide as the header (`width` fields), or nil.
  public func widthProblem(_ width: Int) -> Diagnostic? {
    count == width
      ? nil
      : Diagnostic(
        .badData, "row has \(count) fields but the header has \(width)", at: location)
  }

  /// The checker's diagnostic for a field that is not a number (with how to read it when it is
  /// one with a decimal comma).
  public func numberProblem(_ i: Int) -> Diagnostic {
    let comma =
      reader.decimalPoint == UInt8(ascii: ".") && reader.delimiter != UInt8(ascii: ",")
      && ColumnSurvey.decimalComma(trimmedText(i)) != nil
    return Diagnostic(
      .badData, "\(reader.numberProblem(fields[i])) in a numeric column", at: location(i),
      help: comma
        ? "a number with a decimal comma: set 'decimal: \",\"' in 'data' (mlpc predict and evaluate: --decimal ',')"
        : nil)
  }
}

extension CSVReader {
  /// Calls `body` with every record after the header, in file order, handing parsed pages back
  /// to the kernel as it goes, so a file of any size streams in constant memory. Blank lines
  /// are skipped; `body` returns false to stop early.
  public func forEachRecord(_ body: (CSVRecord) throws -> Bool) rethrows {
    var c = start()
    skipBlankLines(&c)
    _ = readRecord(&c)
    var released = 0
    var fields: [Field] = []
    while true {
      skipBlankLines(&c)
      guard c.offset < bytes.count else { return }
      let at = c
      readRecord(&c, into: &fields)
      guard try body(CSVRecord(reader: self, fields: fields, cursor: at)) else { return }
      release(upTo: c.offset, from: &released)
    }
  }
}

extension CSVReader {
  /// The byte a delimiter's text names: one character other than a quote or a line break, or
  /// `\t` (as typed on a command line or in a YAML single-quoted string) for a tab.
  public static func delimiter(_ text: String) -> UInt8? {
    let text = text == "\\t" ? "\t" : text
    guard text.utf8.count == 1, let byte = text.utf8.first, byte != UInt8(ascii: "\""), byte != 10,
      byte != 13
    else { return nil }
    return byte
  }

  /// The decimal point a text names: "." or ",".
  public static func decimalPoint(_ text: String) -> UInt8? {
    text == "." || text == "," ? text.utf8.first : nil
  }

  /// A delimiter as a YAML double-quoted string for a spec (`","`, `";"`, `"\t"`).
  public static func yamlDelimiter(_ byte: UInt8) -> String {
    Safetensors.jsonString(String(UnicodeScalar(byte)))
  }

  /// The delimiter a header read as one column seems to use instead (as it is written in a
  /// spec or on a command line: `\t` for a tab), or nil.
  public static func likelyDelimiter(of header: [String]) -> String? {
    guard header.count == 1,
      let separator = [";", "\t", "|"].first(where: { header[0].contains($0) })
    else { return nil }
    return separator == "\t" ? "\\t" : separator
  }

  /// Header names must be text and each name once: a name twice would make a column ambiguous.
  public func checkHeader(_ header: [String], diagnostics: inout [Diagnostic]) -> Bool {
    let at = SourceLocation(file: path, line: 1, column: 1)
    if let bad = header.firstIndex(where: { $0.unicodeScalars.contains("\u{FFFD}") }) {
      diagnostics.append(
        Diagnostic(.badData, "header column \(bad + 1) is not valid UTF-8 text", at: at))
      return false
    }
    var seen: [String: Int] = [:]
    for (i, name) in header.enumerated() {
      if let first = seen[name], name.isEmpty {
        // Lines that end with the delimiter, as spreadsheets often write them.
        let trailing = header.last?.isEmpty == true
        diagnostics.append(
          Diagnostic(
            .badData, "header columns \(first + 1) and \(i + 1) have no name", at: at,
            help: trailing
              ? "the header ends with '\(Character(UnicodeScalar(delimiter)))': remove the empty columns at the end of every line, or name them"
              : "give every column its own name"))
        return false
      }
      if let first = seen[name] {
        diagnostics.append(
          Diagnostic(
            .badData,
            "column name '\(name)' appears twice in the header (columns \(first + 1) and \(i + 1))",
            at: at, help: "give every column its own name"))
        return false
      }
      seen[name] = i
    }
    return true
  }

  /// Whether the file can be read as CSV text at all: no NUL byte, no quote left open to its
  /// end (the checker's first rules); a located diagnostic when not.
  public func isReadableText(diagnostics: inout [Diagnostic]) -> Bool {
    if let at = firstNUL() {
      diagnostics.append(
        Diagnostic(.badData, "'\(path)' holds a NUL byte; a CSV file is text", at: at))
      return false
    }
    if let base = bytes.baseAddress, memchr(base, Int32(UInt8(ascii: "\"")), bytes.count) != nil,
      let at = unterminatedQuote(from: 0)
    {
      diagnostics.append(
        Diagnostic(
          .badData, "unterminated quote: the field that starts here runs to the end of the file",
          at: at))
      return false
    }
    return true
  }

  /// Where the file's first NUL byte is, if it has one.
  func firstNUL() -> SourceLocation? {
    guard let base = bytes.baseAddress, let hit = memchr(base, 0, bytes.count) else { return nil }
    return location(atOffset: UnsafeRawPointer(hit) - UnsafeRawPointer(base))
  }

  /// Where a quoted field that is never closed starts, if one is (a quote opens a field only at
  /// its start, as `readRecord` reads it; `""` inside a quoted field is a quote).
  func unterminatedQuote(from start: Int) -> SourceLocation? {
    var i = start
    let n = bytes.count
    while i < n {
      if bytes[i] == UInt8(ascii: "\"") {
        let opened = i
        i += 1
        while true {
          guard i < n else { return location(atOffset: opened) }
          if bytes[i] == UInt8(ascii: "\"") {
            if i + 1 < n, bytes[i + 1] == UInt8(ascii: "\"") {
              i += 2
              continue
            }
            break
          }
          i += 1
        }
      }
      // Past the rest of the field.
      while i < n, bytes[i] != delimiter, bytes[i] != UInt8(ascii: "\n") { i += 1 }
      i += 1
    }
    return nil
  }

  /// The line and column of byte `offset` (counting the line breaks before it; for errors).
  func location(atOffset offset: Int) -> SourceLocation {
    var c = Cursor()
    for i in 0..<offset where bytes[i] == UInt8(ascii: "\n") {
      c.line += 1
      c.lineStart = i + 1
    }
    c.offset = offset
    return location(c)
  }
}

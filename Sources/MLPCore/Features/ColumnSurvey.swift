// One pass over a table's columns: per column, its missing cells, how many cells are numbers,
// its distinct values (up to a bound) and the first few that are not numbers. The checker infers
// feature types from it (N001) and `mlpc init` writes a first spec from it.

import Foundation

/// What one pass over a column found.
public struct ColumnSurvey: Sendable {
  public var name: String
  public var missing = 0
  public var numbers = 0
  public var others = 0
  /// The distinct cells that are not missing (all of them unless `manyLevels`).
  public var levels: Set<String> = []
  /// More than `ColumnSurvey.trackedLevels` distinct cells: `levels` stopped growing.
  public var manyLevels = false
  /// Up to three distinct cells that are not numbers, with their lines.
  public var strays: [(text: String, line: Int)] = []
  /// Whether the cells that are not numbers hold more distinct texts than `strays` keeps.
  public var moreStrays = false
  /// Cells that are not numbers but dates or times written as ISO 8601 does (2024-03-01,
  /// 2024-03-01 12:30, 2024-03-01T12:30:00Z).
  public var dates = 0
  /// Cells written as numbers with ',' between groups of three digits ("12,500"), a currency
  /// sign or a percent sign ("$2,380", "76%"): `looksWritten`.
  public var written = 0
  /// Cells written as a number with a decimal comma: digits, one ',', digits ("3,12", "-0,5").
  public var decimalCommas = 0
  /// Whether one of those cannot be digit groups (its ',' is not followed by three digits, or
  /// has more than three before it, or none but a zero: "3,12", "1234,5", "0,250").
  public var decimalCommaOnly = false
  /// Whether every number is a whole number.
  public var wholeNumbers = true
  /// Distinct numbers seen so far (counted up to 1000).
  var distinctNumbers = 0
  /// Whether every number so far was greater than the one before it (in file order).
  public var increasing = true
  var previous: Double?

  /// Distinct values counted at most.
  public static let trackedLevels = 100_000

  public init(name: String) { self.name = name }

  /// Cells that are not missing.
  public var present: Int { numbers + others }
  /// Numeric when every cell that is not missing is a number (and some are).
  public var isNumeric: Bool { others == 0 && numbers > 0 }
  /// The distinct count in words ("3", "over 100,000").
  public var levelCount: String { manyLevels ? "over \(Self.trackedLevels)" : "\(levels.count)" }

  /// Surveys `columns` of every record of `reader`; also the number of rows read.
  public static func scan(
    _ reader: CSVReader, columns: [Int], names: [String], missing: Set<String>
  )
    -> (columns: [ColumnSurvey], rows: Int)
  {
    var stats = names.map { ColumnSurvey(name: $0) }
    let missingHasNumbers = missing.contains {
      Double($0.trimmingCharacters(in: .whitespaces)) != nil
    }
    var rows = 0
    let widest = columns.max() ?? 0
    reader.forEachRecord { record in
      guard record.count > widest else { return true }
      rows += 1
      for (j, column) in columns.enumerated() {
        // A number that is not a missing-value string needs no text (the common cell).
        if !missingHasNumbers, let x = record.number(column) {
          stats[j].numbers += 1
          stats[j].follow(Double(x))
          // Distinct numbers are counted up to a bound: enough for constants and classes.
          if stats[j].distinctNumbers < 1000 {
            if stats[j].levels.insert(record.trimmedText(column)).inserted {
              stats[j].distinctNumbers += 1
            }
          }
          continue
        }
        let text = record.trimmedText(column)
        if missing.contains(text) {
          stats[j].missing += 1
          continue
        }
        if let x = record.number(column) {
          stats[j].numbers += 1
          stats[j].follow(Double(x))
        } else {
          stats[j].others += 1
          if looksLikeDate(text) { stats[j].dates += 1 }
          if looksWritten(text) { stats[j].written += 1 }
          if let onlyDecimal = decimalComma(text) {
            stats[j].decimalCommas += 1
            if onlyDecimal { stats[j].decimalCommaOnly = true }
          }
          if !stats[j].strays.contains(where: { $0.text == text }) {
            if stats[j].strays.count < 3 {
              stats[j].strays.append((text, record.location(column).line))
            } else {
              stats[j].moreStrays = true
            }
          }
        }
        if !stats[j].manyLevels {
          stats[j].levels.insert(text)
          if stats[j].levels.count > trackedLevels { stats[j].manyLevels = true }
        }
      }
      return true
    }
    return (stats, rows)
  }

  /// Notes the number `x` of the next row.
  mutating func follow(_ x: Double) {
    if x != x.rounded() { wholeNumbers = false }
    if let previous, x <= previous { increasing = false }
    previous = x
  }

  /// Whether every cell that is not missing is a date (and some are).
  public var isDates: Bool { numbers == 0 && others > 0 && dates == others }

  /// Whether every cell that is neither missing nor a plain number is a number written with
  /// digit groups, a currency sign or a percent sign (and some are).
  public var isWrittenNumbers: Bool { others > 0 && written == others }

  /// How such cells are written beyond plain numbers ("',' between digit groups", "'$' and
  /// ','", "'%'"), from the cells `strays` kept; the marks alone ("','", "'$' and ','"); the
  /// first of those cells with the most marks, its line, and its plain number ("2380").
  public var writtenExample: (text: String, line: Int, how: String, marks: String, plain: String)? {
    let marked = strays.map { stray in
      var marks: [String] = []
      if let c = stray.text.first(where: { Self.currencySigns.contains($0) }) {
        marks.append("'\(c)'")
      }
      if stray.text.contains(",") { marks.append("','") }
      if stray.text.hasSuffix("%") { marks.append("'%'") }
      return (stray: stray, marks: marks)
    }
    var example = marked.first
    for m in marked.dropFirst() where m.marks.count > example!.marks.count { example = m }
    guard let example else { return nil }
    var marks: [String] = []
    for mark in marked.flatMap(\.marks) where !marks.contains(mark) { marks.append(mark) }
    let text = example.stray.text
    let plain = String(text.filter { !Self.currencySigns.contains($0) && $0 != "," && $0 != "%" })
    let how = marks == ["','"] ? "',' between digit groups" : marks.joined(separator: " and ")
    return (text, example.stray.line, how, marks.joined(separator: " and "), plain)
  }

  /// Whether every cell that is neither missing nor a plain number is a number with a decimal
  /// comma (and some are). `inFile`: another column of the file has commas that can only be
  /// decimal ones, so this one's ("7,100") are read so too.
  public func isDecimalCommaNumbers(inFile: Bool) -> Bool {
    others > 0 && decimalCommas == others && (decimalCommaOnly || inFile)
  }

  /// The first cell kept in `strays`, its line, and the number it is with '.' ("3.12").
  public var decimalCommaExample: (text: String, line: Int, plain: String)? {
    strays.first.map { ($0.text, $0.line, $0.text.replacingOccurrences(of: ",", with: ".")) }
  }

  /// Nil unless `text` is digits, one ',', digits, with an optional sign; then whether it cannot
  /// be a number with digit groups.
  static func decimalComma(_ text: String) -> Bool? {
    var u = Array(text.utf8)[...]
    if let c = u.first, c == UInt8(ascii: "-") || c == UInt8(ascii: "+") { u = u.dropFirst() }
    let isDigit = { (c: UInt8) in c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    let lead = u.prefix(while: isDigit).count
    guard lead > 0, u.dropFirst(lead).first == UInt8(ascii: ",") else { return nil }
    let rest = u.dropFirst(lead + 1)
    guard !rest.isEmpty, rest.allSatisfy(isDigit) else { return nil }
    return rest.count != 3 || lead > 3 || u.first == UInt8(ascii: "0")
  }

  static let currencySigns: Set<Character> = ["$", "€", "£", "¥", "₹"]

  /// Whether `text` is a number written with digit groups ("12,500"), a currency sign before it
  /// ("$15", "-$2,380.50", "€3") or a percent sign after it ("76%", "-0.5%").
  static func looksWritten(_ text: String) -> Bool {
    var t = Substring(text)
    var marked = false
    if t.last == "%" {
      t = t.dropLast()
      marked = true
    }
    var sign = ""
    if let c = t.first, c == "-" || c == "+" {
      sign = String(c)
      t = t.dropFirst()
    }
    if let c = t.first, currencySigns.contains(c) {
      t = t.dropFirst()
      marked = true
    }
    let core = sign + t
    let isDigit = { (c: Character) in c.isASCII && c.isNumber }
    guard let c = t.first, isDigit(c) || c == "." else { return false }
    if looksGrouped(core) { return true }
    return marked && t.allSatisfy { isDigit($0) || $0 == "." } && Double(core) != nil
  }

  /// Whether `text` is a number with ',' between groups of three digits: an optional sign, one
  /// to three digits, one or more ",ddd", then an optional fraction ("1,234", "-12,500.75").
  static func looksGrouped(_ text: String) -> Bool {
    var u = Array(text.utf8)[...]
    let isDigit = { (c: UInt8) in c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    if let c = u.first, c == UInt8(ascii: "-") || c == UInt8(ascii: "+") { u = u.dropFirst() }
    let lead = u.prefix(while: isDigit).count
    guard (1...3).contains(lead) else { return false }
    u = u.dropFirst(lead)
    var groups = 0
    while u.first == UInt8(ascii: ","), u.count >= 4, u.dropFirst().prefix(3).allSatisfy(isDigit) {
      u = u.dropFirst(4)
      groups += 1
    }
    guard groups > 0 else { return false }
    if u.first == UInt8(ascii: ".") {
      u = u.dropFirst()
      guard !u.isEmpty, u.allSatisfy(isDigit) else { return false }
      return true
    }
    return u.isEmpty
  }

  /// Whether `text` starts as an ISO 8601 date does: four digits, '-', two digits, '-', two
  /// digits, then nothing, or a time after 'T' or a space.
  static func looksLikeDate(_ text: String) -> Bool {
    let u = Array(text.utf8.prefix(11))
    guard u.count >= 10 else { return false }
    let digit = { (i: Int) in u[i] >= UInt8(ascii: "0") && u[i] <= UInt8(ascii: "9") }
    guard (0..<4).allSatisfy(digit), u[4] == UInt8(ascii: "-"), digit(5), digit(6),
      u[7] == UInt8(ascii: "-"), digit(8), digit(9)
    else { return false }
    let month = Int(u[5] - 48) * 10 + Int(u[6] - 48)
    let day = Int(u[8] - 48) * 10 + Int(u[9] - 48)
    guard (1...12).contains(month), (1...31).contains(day) else { return false }
    return u.count == 10 || u[10] == UInt8(ascii: "T") || u[10] == UInt8(ascii: " ")
  }

  /// Whether the column looks like an identifier: a different text in every row, whole
  /// numbers rising in every row (a row number, an `id` counter), or a different whole number
  /// in every row under an identifier's name (`numberedByName`).
  public func looksLikeIdentifier(rows: Int) -> Bool {
    guard rows >= 20, missing == 0 else { return manyLevels }
    return manyLevels || (levels.count == present && !isNumeric)
      || (isNumeric && wholeNumbers && numbers == rows && (increasing || numberedByName))
  }

  /// Whether the column is named as identifiers are ("id", "PassengerId", "customer_id") and
  /// holds whole numbers, each different (as far as they are counted): identifiers whose rows
  /// were shuffled or sorted by something else after they were numbered. The name decides, as
  /// a rank or a count may also hold a different whole number in every row.
  public var numberedByName: Bool {
    // Distinct texts are kept for numbers too, all of them or (when no missing-value string is
    // a number) the first 1000.
    Self.isIdentifierName(name) && isNumeric && wholeNumbers
      && (levels.count == numbers || levels.count >= 1000)
  }

  /// Whether `name` is an identifier's: id, key, index and the like, a name ending in "_id",
  /// " id", "-id" or ".id", or one in camel case ending in "Id" or "ID" ("PassengerId").
  static func isIdentifierName(_ name: String) -> Bool {
    let lower = name.lowercased()
    let whole = ["id", "idx", "index", "key", "uuid", "guid", "rowid", "row_id", "rownames"]
    if whole.contains(lower) || lower == "unnamed: 0" { return true }
    if ["_id", " id", "-id", ".id"].contains(where: { lower.hasSuffix($0) }) { return true }
    let characters = Array(name)
    return characters.count > 2 && (name.hasSuffix("Id") || name.hasSuffix("ID"))
      && characters[characters.count - 3].isLowercase
  }
}

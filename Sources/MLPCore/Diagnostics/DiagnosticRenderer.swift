// Turns diagnostics into text for people (`path:line:col: error[E012]: …`, the source line and a
// caret), JSON for tools, or GitHub workflow commands for inline pull-request annotations.
// Rendering never fails: a file that cannot be read just shows no snippet.

import Foundation

/// Output formats for diagnostics.
public enum DiagnosticFormat: String, CaseIterable, Sendable {
  case text, json, github
}

/// Reads source lines for snippets, caching each file's bytes once. Only regular text files of
/// at most 8 MiB give snippets (no NUL bytes: a binary or a /proc file shows none), and a line
/// is found by counting line breaks, never by splitting the whole file.
public final class SourceLines {
  private var cache: [String: [UInt8]] = [:]
  private var overrides: [String: String]

  /// - Parameter overrides: texts to use instead of reading the file (for tests and stdin).
  public init(overrides: [String: String] = [:]) { self.overrides = overrides }

  /// The 1-based line `line` of `file`, without its line break, or nil.
  public func line(_ line: Int, of file: String) -> Substring? {
    if cache[file] == nil { cache[file] = load(file) }
    guard let bytes = cache[file], line >= 1 else { return nil }
    var start = 0
    var current = 1
    while current < line {
      guard let next = bytes[start...].firstIndex(of: 10) else { return nil }
      start = next + 1
      current += 1
    }
    var end = bytes[start...].firstIndex(of: 10) ?? bytes.count
    if end > start, bytes[end - 1] == 13 { end -= 1 }
    return Substring(String(decoding: bytes[start..<end], as: UTF8.self))
  }

  private func load(_ file: String) -> [UInt8] {
    if let text = overrides[file] { return Array(text.utf8) }
    guard case .success(let opened) = RegularFile.open(file) else { return [] }
    guard case .success(let data) = opened.readAll(limit: 8 << 20), !data.contains(0) else {
      return []
    }
    return Array(data)
  }
}

/// Renders diagnostics in one of the `DiagnosticFormat`s.
public struct DiagnosticRenderer {
  public var colored: Bool
  public var sources: SourceLines

  public init(colored: Bool = false, sources: SourceLines = SourceLines()) {
    self.colored = colored
    self.sources = sources
  }

  /// Human-readable text: header line, source line, caret, notes and help. Everything that
  /// came from a user's file is shown with control characters escaped and cut to a length.
  public func text(_ d: Diagnostic) -> String {
    let d = d.sanitized
    let color = d.severity == .error ? "31" : d.severity == .warning ? "33" : "36"
    var out = d.location.map { paint("\($0): ", "1") } ?? ""
    out +=
      paint("\(d.severity.rawValue)[\(d.code.rawValue)]", "1;\(color)")
      + paint(": \(d.message)", "1")
    out += "\n"
    if let loc = d.location { out += snippet(at: loc, color: color) }
    for note in d.notes {
      let place = note.location.map { "\($0): " } ?? ""
      out += "  " + paint("note", "1;36") + ": \(place)\(note.message)\n"
      if let loc = note.location { out += snippet(at: loc, color: "36") }
    }
    if let help = d.help { out += "  " + paint("help", "1;32") + ": \(help)\n" }
    return out
  }

  /// A GitHub Actions workflow command (`::error file=…,line=…,col=…,title=…::message`).
  public func github(_ d: Diagnostic) -> String {
    let d = d.sanitized
    var props: [String] = []
    if let loc = d.location {
      props += ["file=\(escapeProperty(loc.file))", "line=\(loc.line)", "col=\(loc.column)"]
    }
    props.append("title=\(escapeProperty("mlpc \(d.code.rawValue)"))")
    var message = d.message
    for note in d.notes {
      message += "\nnote: \(note.location.map { "\($0): " } ?? "")\(note.message)"
    }
    if let help = d.help { message += "\nhelp: \(help)" }
    let command = d.severity == .note ? "notice" : d.severity.rawValue
    return "::\(command) \(props.joined(separator: ","))::\(escapeData(message))"
  }

  /// The one JSON document of a command run (schema in `docs/diagnostics.md`): each spec file
  /// with its validity as the checker decided it, every diagnostic, and errors that happened
  /// after checking (a run that diverged, a file that could not be written).
  public func json(
    _ diagnostics: [Diagnostic], files: [(path: String, valid: Bool)],
    errors: [(message: String, help: String?)] = []
  ) -> String {
    let report = JSONReport(
      version: 1,
      files: files.map { JSONReport.File(path: $0.path, valid: $0.valid) },
      diagnostics: diagnostics.map(JSONReport.Item.init),
      errors: errors.map { JSONReport.RuntimeError(message: $0.message, help: $0.help) },
      summary: .init(
        errors: diagnostics.count { $0.severity == .error } + errors.count,
        warnings: diagnostics.count { $0.severity == .warning }))
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(report)) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
  }

  private func snippet(at loc: SourceLocation, color: String) -> String {
    guard let line = sources.line(loc.line, of: loc.file) else { return "" }
    let shown = safeText(
      String(
        String.UnicodeScalarView(line.unicodeScalars.prefix(200).map { $0 == "\t" ? " " : $0 })),
      limit: 200)
    let gutter = String(repeating: " ", count: String(loc.line).count)
    let pad = String(repeating: " ", count: max(0, min(loc.column - 1, 200)))
    return "\(gutter) |\n\(loc.line) | \(shown)\n\(gutter) | \(pad)" + paint("^", "1;\(color)")
      + "\n"
  }

  private func paint(_ s: String, _ code: String) -> String {
    colored ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s
  }

  private func escapeData(_ s: String) -> String {
    s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
      .replacingOccurrences(of: "\n", with: "%0A")
  }

  private func escapeProperty(_ s: String) -> String {
    escapeData(s).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(
      of: ",", with: "%2C")
  }
}

/// The stable JSON schema of `mlpc check --format json`.
private struct JSONReport: Encodable {
  struct File: Encodable {
    var path: String
    var valid: Bool
  }
  struct Place: Encodable {
    var file: String
    var line: Int
    var column: Int
    init?(_ loc: SourceLocation?) {
      guard let loc else { return nil }
      (file, line, column) = (loc.file, loc.line, loc.column)
    }
  }
  struct Note: Encodable {
    var message: String
    var location: Place?
  }
  struct Item: Encodable {
    var severity: String
    var code: String
    var message: String
    var location: Place?
    var notes: [Note]
    var help: String?
    init(_ d: Diagnostic) {
      severity = d.severity.rawValue
      code = d.code.rawValue
      message = d.message
      location = Place(d.location)
      notes = d.notes.map { Note(message: $0.message, location: Place($0.location)) }
      help = d.help
    }
  }
  struct RuntimeError: Encodable {
    var message: String
    var help: String?
  }
  struct Summary: Encodable {
    var errors: Int
    var warnings: Int
  }
  var version: Int
  var files: [File]
  var diagnostics: [Item]
  var errors: [RuntimeError]
  var summary: Summary
}

extension Diagnostic {
  /// The diagnostic with every text made safe to print (`safeText`).
  var sanitized: Diagnostic {
    var d = self
    d.message = safeText(message)
    d.help = help.map { safeText($0) }
    d.notes = notes.map { DiagnosticNote(safeText($0.message), at: $0.location) }
    if let loc = location { d.location = loc.sanitized }
    return d
  }
}

extension SourceLocation {
  var sanitized: SourceLocation {
    SourceLocation(file: safeText(file, limit: 500), line: line, column: column)
  }
}

/// `text` with control characters (C0 but tab, line breaks included; DEL; C1) and bidirectional
/// overrides written as `\u{1b}` escapes, so no escape sequence from a spec, data or model file
/// reaches a terminal or starts a CI annotation, and cut to `limit` characters. Every command
/// prints names, paths and messages it did not write through this.
public func safeText(_ text: String, limit: Int = 1000) -> String {
  var out = ""
  var count = 0
  for scalar in text.unicodeScalars {
    if count >= limit {
      out += "…"
      break
    }
    let v = scalar.value
    if (v < 0x20 && v != 0x09) || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v)
      || (0x2066...0x2069).contains(v)
    {
      out += "\\u{" + String(v, radix: 16) + "}"
    } else {
      out.unicodeScalars.append(scalar)
    }
    count += 1
  }
  return out
}

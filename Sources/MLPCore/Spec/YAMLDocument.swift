// Reads spec text into a Yams `Node` tree, turning every libyaml failure into a located
// diagnostic. Duplicate keys are reported one by one: each duplicate is reported, renamed out of
// the way, and the text composed again, so the rest of the spec is still checked. The renamed
// keys are remembered by location, so the walker skips exactly those and no key text is special.

import Foundation
import Yams

/// Overwrites a duplicate key in the text (same length, so every column stays true).
private let duplicateKeyFiller: Character = "\u{A4}"

/// The result of reading YAML text: a root node (nil when the text could not be composed) and
/// the diagnostics found while reading.
struct YAMLDocument {
  var root: Node?
  var diagnostics: [Diagnostic] = []
  /// Where the keys reported as duplicates stand; the walker skips the keys found there.
  var duplicateKeys: Set<SourceLocation> = []

  /// Duplicate keys reported before giving up.
  static let maximumDuplicateReports = 8

  /// Aliases a spec may use: enough to share a few settings, too few to expand exponentially.
  static let maximumAliases = 16

  init(text: String, file: String) {
    if let problem = Self.binaryProblem(text) {
      diagnostics.append(
        Diagnostic(.notASpec, problem, at: SourceLocation(file: file, line: 1, column: 1)))
      return
    }
    var text = text
    // A UTF-8 byte-order mark, as some editors write, is not part of the YAML.
    if text.unicodeScalars.first == "\u{FEFF}" { text.unicodeScalars.removeFirst() }
    if let problem = Self.aliasProblem(text, file: file) {
      diagnostics.append(problem)
      return
    }
    // Each duplicate costs a full compose: report the first few, then stop (a flood of
    // duplicates must not take minutes).
    for attempt in 0...Self.maximumDuplicateReports {
      if attempt == Self.maximumDuplicateReports {
        diagnostics.append(
          Diagnostic(
            .duplicateKey,
            "more duplicate keys; the first \(Self.maximumDuplicateReports) are shown and the spec is not checked further",
            at: diagnostics.last?.location))
        root = nil
        return
      }
      do {
        root = try Yams.compose(yaml: text)
        return
      } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
        guard let key = duplicates.first,
          let renamed = Self.renameDuplicate(key, after: context.mark, in: &text, file: file)
        else {
          let at = SourceLocation(file: file, line: context.mark.line, column: context.mark.column)
          diagnostics.append(
            Diagnostic(
              .duplicateKey, "duplicate key '\(duplicates.joined(separator: "', '"))'", at: at)
          )
          return
        }
        diagnostics.append(renamed)
        if let at = renamed.location { duplicateKeys.insert(at) }
      } catch {
        diagnostics.append(Self.diagnostic(for: error, file: file))
        return
      }
    }
  }

  /// The aliases (`*name`) in `text`, counted as `aliasProblem` counts them.
  static func aliasCount(_ text: String) -> Int {
    var count = 0
    forEachAlias(in: text) { _, _, _ in
      count += 1
      return true
    }
    return count
  }

  /// Calls `body` with each alias's line (0-based), column (0-based) and whether a key follows
  /// it, outside quotes and comments, until it returns false.
  private static func forEachAlias(
    in text: String, _ body: (_ line: Int, _ column: Int, _ isKey: Bool) -> Bool
  ) {
    for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
    {
      let scalars = Array(line.unicodeScalars)
      var quote: Unicode.Scalar?
      var i = 0
      while i < scalars.count {
        let c = scalars[i]
        let previous: Unicode.Scalar = i == 0 ? " " : scalars[i - 1]
        if let q = quote {
          if c == q { quote = nil }
        } else if c == "\"" || c == "'" {
          quote = c
        } else if c == "#", previous == " " || i == 0 {
          break
        } else if c == "*", " \t[{,:-?".unicodeScalars.contains(previous),
          i + 1 < scalars.count, !" \t,]}".unicodeScalars.contains(scalars[i + 1])
        {
          var j = i + 1
          while j < scalars.count, !" \t,]}:".unicodeScalars.contains(scalars[j]) { j += 1 }
          let rest = scalars[j...].drop { $0 == " " || $0 == "\t" }
          if !body(number, i, rest.first == ":" || previous == "?") { return }
        }
        i += 1
      }
    }
  }

  /// Aliases (`*name`) beyond `maximumAliases`, or one used as a mapping key: refused before
  /// composing, since nested aliases expand exponentially (a few hundred bytes can describe
  /// billions of nodes) and keys are compared by value. A plain scan, outside quotes and comments.
  private static func aliasProblem(_ text: String, file: String) -> Diagnostic? {
    var count = 0
    var problem: Diagnostic?
    forEachAlias(in: text) { line, column, isKey in
      count += 1
      let at = SourceLocation(file: file, line: line + 1, column: column + 1)
      if isKey {
        problem = Diagnostic(
          .notASpec, "an alias used as a mapping key; spec keys are plain names", at: at)
      } else if count > maximumAliases {
        problem = Diagnostic(
          .notASpec, "more than \(maximumAliases) aliases; write the values out instead", at: at)
      }
      return problem == nil
    }
    return problem
  }

  /// Non-text input (NUL bytes, invalid UTF-8 replaced on decoding) gets one clear error.
  private static func binaryProblem(_ text: String) -> String? {
    if text.utf8.contains(0) { return "file is not a YAML text file (it contains NUL bytes)" }
    if text.unicodeScalars.contains("\u{FFFD}") {
      return "file is not valid UTF-8 text"
    }
    return nil
  }

  /// Finds the next plain `key:` after the first one (block or flow style), reports it, and
  /// overwrites it in `text` with filler of the same length so columns stay true.
  private static func renameDuplicate(
    _ key: String, after mark: Mark, in text: inout String, file: String
  ) -> Diagnostic? {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
      Array($0.unicodeScalars)
    }
    let keyScalars = Array(key.unicodeScalars)
    guard mark.line >= 1, mark.line <= lines.count, !keyScalars.isEmpty else { return nil }
    for index in (mark.line - 1)..<lines.count {
      let scalars = lines[index]
      var start = index == mark.line - 1 ? mark.column - 1 + keyScalars.count : 0
      while start + keyScalars.count <= scalars.count {
        defer { start += 1 }
        let before = start == 0 ? " " : scalars[start - 1]
        guard " {,-\t".unicodeScalars.contains(before),
          Array(scalars[start..<start + keyScalars.count]) == keyScalars,
          scalars[(start + keyScalars.count)...].drop(while: { $0 == " " }).first == ":"
        else { continue }
        let filler = String(repeating: duplicateKeyFiller, count: keyScalars.count).unicodeScalars
        lines[index].replaceSubrange(start..<start + keyScalars.count, with: filler)
        text = lines.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
        let first = SourceLocation(file: file, line: mark.line, column: mark.column)
        return Diagnostic(
          .duplicateKey, "duplicate key '\(key)'",
          at: SourceLocation(file: file, line: index + 1, column: start + 1),
          notes: [DiagnosticNote("'\(key)' first set here", at: first)],
          help: "remove one of the two entries")
      }
    }
    return nil
  }

  private static func diagnostic(for error: Error, file: String) -> Diagnostic {
    let at = { (mark: Mark) in SourceLocation(file: file, line: mark.line, column: mark.column) }
    switch error {
    case YamlError.scanner(let context, let problem, let mark, _),
      YamlError.parser(let context, let problem, let mark, _),
      YamlError.composer(let context, let problem, let mark, _):
      let notes = context.map { [DiagnosticNote($0.text, at: at($0.mark))] } ?? []
      return Diagnostic(.yamlSyntax, "invalid YAML: \(problem)", at: at(mark), notes: notes)
    case YamlError.reader(let problem, let offset, _, _):
      return Diagnostic(
        .notASpec,
        "file cannot be read as YAML text: \(problem)" + (offset.map { " at byte \($0)" } ?? ""),
        at: SourceLocation(file: file, line: 1, column: 1))
    default:
      return Diagnostic(
        .yamlSyntax, "invalid YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
    }
  }
}

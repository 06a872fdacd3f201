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

  init(text: String, file: String) {
    if let problem = Self.binaryProblem(text) {
      diagnostics.append(
        Diagnostic(.notASpec, problem, at: SourceLocation(file: file, line: 1, column: 1)))
      return
    }
    var text = text
    for _ in 0..<64 {
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

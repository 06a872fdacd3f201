// Command-line overrides (`--set training.learning_rate=0.01 --set layers[0].units=64`): each
// replaces or adds one value in the spec's YAML tree before the spec is read, so the same parser
// and checker judge it. Every node made from an override carries a position in that argument:
// its key and value are composed by libyaml on lines below the spec's last line (one line per
// override), and `NodeReader` maps those lines back to `--set #k`, so a bad override is reported
// at its place on the command line ("did you mean" included) and its text is shown under it.

import Yams

/// One `--set PATH=VALUE` argument.
public struct SpecOverride: Sendable, Equatable {
  /// The argument as given.
  public var text: String
  /// Its 1-based position among the arguments of its option.
  public var index: Int
  /// The option that gave it: `--set`, or `--grid` for one value of a sweep.
  public var option: String

  public init(_ text: String, index: Int, option: String = "--set") {
    (self.text, self.index, self.option) = (text, index, option)
  }

  /// The pseudo-file that locations inside this override name: `--set #2`.
  public var sourceName: String { "\(option) #\(index)" }

  /// Overrides from command-line arguments, numbered in order.
  public static func list(_ arguments: [String]) -> [SpecOverride] {
    arguments.enumerated().map { SpecOverride($1, index: $0 + 1) }
  }
}

/// A path segment: a key, optionally indexed (`layers[0]`), with its columns in the argument.
private struct Segment {
  var key: String
  var keyColumn: Int
  var index: Int?
  var indexColumn: Int
}

/// Applies overrides to a composed spec tree.
struct OverrideApplier {
  /// Lines above which nodes belong to overrides (the spec's line count).
  let baseLine: Int
  let file: String
  var diagnostics: [Diagnostic] = []
  /// Each override's line below the spec (1, 2, …, in the order given).
  var position: [String: Int] = [:]
  /// Aliases in the override values so far (limited together, as in one spec file).
  var aliases = 0

  /// Where column `column` of override `o` is.
  func location(_ o: SpecOverride, column: Int) -> SourceLocation {
    SourceLocation(file: o.sourceName, line: 1, column: column)
  }

  /// The names of the overrides' pseudo-files, by their line below the spec.
  static func names(_ overrides: [SpecOverride]) -> [String] { overrides.map(\.sourceName) }

  /// `root` with every override applied in order (a later one wins).
  mutating func apply(_ overrides: [SpecOverride], to root: Node) -> Node {
    var root = root
    for (i, o) in overrides.enumerated() { position[o.sourceName] = i + 1 }
    for o in overrides {
      guard let equals = o.text.unicodeScalars.firstIndex(of: "=") else {
        diagnostics.append(
          Diagnostic(
            .yamlSyntax, "--set needs PATH=VALUE, found '\(o.text)'", at: location(o, column: 1),
            help: "e.g. --set training.learning_rate=0.01 or --set layers[0].units=64"))
        continue
      }
      let scalars = o.text.unicodeScalars
      let pathText = String(scalars[..<equals])
      let valueText = String(scalars[scalars.index(after: equals)...])
      let valueColumn = scalars.distance(from: scalars.startIndex, to: equals) + 2
      guard let segments = parsePath(pathText, o) else { continue }
      guard let value = compose(valueText, o, column: valueColumn) else { continue }
      if let updated = set(root, segments[...], value, o, parents: "") { root = updated }
    }
    return root
  }

  /// `a.b[2].c` → segments, or nil with a diagnostic.
  private mutating func parsePath(_ path: String, _ o: SpecOverride) -> [Segment]? {
    var segments: [Segment] = []
    var column = 1
    for part in path.split(separator: ".", omittingEmptySubsequences: false) {
      let text = String(part)
      var key = text
      var index: Int?
      var indexColumn = column
      if let open = text.firstIndex(of: "["), text.hasSuffix("]") {
        key = String(text[..<open])
        indexColumn = column + text.distance(from: text.startIndex, to: open) + 1
        index = Int(text[text.index(after: open)..<text.index(before: text.endIndex)])
        if index == nil || index! < 0 {
          diagnostics.append(
            Diagnostic(
              .yamlSyntax, "'\(text)': the index must be a whole number ≥ 0",
              at: location(o, column: indexColumn)))
          return nil
        }
      }
      guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
        diagnostics.append(
          Diagnostic(
            .yamlSyntax, "--set path '\(path)' has an empty or malformed key at '\(text)'",
            at: location(o, column: column),
            help: "paths look like training.learning_rate or layers[0].units"))
        return nil
      }
      segments.append(Segment(key: key, keyColumn: column, index: index, indexColumn: indexColumn))
      column += text.unicodeScalars.count + 1
    }
    return segments
  }

  /// The YAML node of `text`, its marks placed on override `o`'s line at `column`. The value is
  /// composed on its own (with the alias and size limits of a spec file) and its marks are moved
  /// to the override's line afterwards, so n overrides cost time linear in n, not in n times the
  /// spec's length.
  private mutating func compose(_ text: String, _ o: SpecOverride, column: Int) -> Node? {
    let line = baseLine + position[o.sourceName, default: 1]
    if text.utf8.count > SpecParser.maximumFileSize {
      diagnostics.append(
        Diagnostic(
          .tooLarge,
          "\(o.option) value is \(text.utf8.count) bytes; at most \(SpecParser.maximumFileSize), as for a spec file",
          at: location(o, column: column)))
      return nil
    }
    aliases += YAMLDocument.aliasCount(text)
    if aliases > YAMLDocument.maximumAliases {
      diagnostics.append(
        Diagnostic(
          .notASpec,
          "more than \(YAMLDocument.maximumAliases) aliases in the spec's overrides; write the values out instead",
          at: location(o, column: column)))
      return nil
    }
    let moved = Self.markMaker != nil
    let padded =
      (moved ? "" : String(repeating: "\n", count: line - 1))
      + String(repeating: " ", count: column - 1) + text
    do {
      guard let node = try Yams.compose(yaml: padded) else {
        return .scalar(.init("", .init(.null)))
      }
      guard let make = Self.markMaker else { return node }
      return Self.placed(node, line: line, make)
    } catch {
      diagnostics.append(
        Diagnostic(
          .yamlSyntax, "--set value '\(text)' is not valid YAML", at: location(o, column: column),
          help: "quote it, e.g. --set 'data.delimiter=\";\"'"))
      return nil
    }
  }

  /// Builds a Yams `Mark` (its initializer is internal to Yams) from a line and a column: the
  /// struct is two `Int`s, checked once here; nil (overrides then composed on padded lines, as
  /// before) if a Yams release ever lays it out otherwise.
  static let markMaker: (@Sendable (Int, Int) -> Mark)? = {
    guard MemoryLayout<Mark>.size == MemoryLayout<(Int, Int)>.size,
      let probe = try? Yams.compose(yaml: "\n  x")?.mark,
      (probe.line, probe.column) == (2, 3),
      unsafeBitCast(probe, to: (Int, Int).self) == (2, 3)
    else { return nil }
    return { line, column in unsafeBitCast((line, column), to: Mark.self) }
  }()

  /// `node` and everything in it moved to `line`, columns kept.
  private static func placed(_ node: Node, line: Int, _ make: (Int, Int) -> Mark) -> Node {
    func at(_ mark: Mark?) -> Mark? { mark.map { make(line, $0.column) } }
    switch node {
    case .scalar(var scalar):
      scalar.mark = at(scalar.mark)
      return .scalar(scalar)
    case .mapping(var mapping):
      mapping.mark = at(mapping.mark)
      for i in mapping.indices {
        let (key, value) = mapping[i]
        mapping[i] = (placed(key, line: line, make), placed(value, line: line, make))
      }
      return .mapping(mapping)
    case .sequence(var sequence):
      sequence.mark = at(sequence.mark)
      for i in sequence.indices { sequence[i] = placed(sequence[i], line: line, make) }
      return .sequence(sequence)
    case .alias(var alias):
      alias.mark = at(alias.mark)
      return .alias(alias)
    }
  }

  /// `node` with `value` placed at `segments`; nil (and a diagnostic) when the path cannot be.
  private mutating func set(
    _ node: Node?, _ segments: ArraySlice<Segment>, _ value: Node, _ o: SpecOverride,
    parents: String
  ) -> Node? {
    guard let segment = segments.first else { return value }
    let path = parents.isEmpty ? segment.key : parents + "." + segment.key
    var pairs: [(Node, Node)]
    switch node {
    case nil: pairs = []
    case .mapping(let m)?: pairs = m.map { ($0.key, $0.value) }
    case .scalar(let s)? where s.string.isEmpty || s.string == "~" || s.string == "null":
      pairs = []
    default:
      diagnostics.append(
        Diagnostic(
          .wrongType, "cannot set '\(path)': '\(parents)' is not a mapping in the spec",
          at: location(o, column: segment.keyColumn)))
      return nil
    }
    guard let keyNode = compose(segment.key, o, column: segment.keyColumn) else { return nil }
    let found = pairs.firstIndex { $0.0.scalar?.string == segment.key }
    var child = found.map { pairs[$0].1 }
    let rest = segments.dropFirst()
    if let index = segment.index {
      guard case .sequence(var items)? = child else {
        diagnostics.append(
          Diagnostic(
            .unknownKey, "cannot set '\(path)[\(index)]': the spec has no list '\(path)'",
            at: location(o, column: segment.keyColumn)))
        return nil
      }
      guard index < items.count else {
        diagnostics.append(
          Diagnostic(
            .unknownKey,
            "'\(path)[\(index)]' does not exist: '\(path)' has \(items.count) entries (from 0)",
            at: location(o, column: segment.indexColumn)))
        return nil
      }
      guard
        let updated = set(items[index], rest, value, o, parents: "\(path)[\(index)]")
      else { return nil }
      items[index] = updated
      child = .sequence(items)
    } else if rest.isEmpty, value.tag.rawValue == Tag.Name.null.rawValue {
      // `PATH=null` removes the key: its default applies (an optional section is off).
      if let found { pairs.remove(at: found) }
      var mapping = Node.Mapping(pairs)
      mapping.mark = node?.mapping?.mark
      return .mapping(mapping)
    } else {
      guard let updated = set(child, rest, value, o, parents: path) else { return nil }
      child = updated
    }
    if let found {
      pairs[found].1 = child!
    } else {
      pairs.append((keyNode, child!))
    }
    var mapping = Node.Mapping(pairs)
    mapping.mark = node?.mapping?.mark
    return .mapping(mapping)
  }
}

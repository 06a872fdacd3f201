// Typed access to Yams nodes that records a located diagnostic for every mismatch instead of
// throwing: unknown keys (with "did you mean"), wrong scalar types, missing keys, bad choices.

import Yams

/// Reads typed values out of Yams nodes, collecting diagnostics.
final class NodeReader {
  let file: String
  private(set) var diagnostics: [Diagnostic] = []

  /// Keys already reported as duplicates, by location.
  let skipped: Set<SourceLocation>

  /// Lines beyond the spec's own belong to `--set` overrides: line `overrideBase + k` is
  /// override k's (see Overrides.swift).
  var overrideBase = Int.max
  var overrideNames: [String] = []

  init(file: String, skipping skipped: Set<SourceLocation> = []) {
    self.file = file
    self.skipped = skipped
  }

  func report(_ d: Diagnostic) { diagnostics.append(d) }

  func location(_ node: Node) -> SourceLocation {
    let mark = node.mark
    if let mark, mark.line > overrideBase {
      let k = mark.line - overrideBase
      let name = k <= overrideNames.count ? overrideNames[k - 1] : "--set #\(k)"
      return SourceLocation(file: name, line: 1, column: mark.column)
    }
    return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
  }

  /// The keys of a mapping node, checked against `allowed`; nil (and a diagnostic) when `node`
  /// is not a mapping.
  func fields(_ node: Node, _ path: String, allowed: [String]) -> Fields? {
    guard case .mapping(let mapping) = node else {
      typeError(node, path, expected: "a mapping")
      return nil
    }
    var fields = Fields(location: location(node))
    for (key, value) in mapping {
      guard let name = key.scalar?.string else {
        report(Diagnostic(.wrongType, "keys in '\(path)' must be plain names", at: location(key)))
        continue
      }
      if skipped.contains(location(key)) { continue }
      guard allowed.contains(name) else {
        let keyPath = path.isEmpty ? name : "\(path).\(name)"
        let hint =
          Synonyms.keyHint(name, in: section(ofPath: path))
          ?? closest(to: name, in: allowed).map { "did you mean '\($0)'?" }
        let known = "known keys here: \(allowed.map { "'\($0)'" }.joined(separator: ", "))"
        report(
          Diagnostic(
            .unknownKey, "unknown key '\(keyPath)'", at: location(key),
            notes: [DiagnosticNote(known)], help: hint))
        continue
      }
      fields.values[name] = (key, value)
    }
    return fields
  }

  func int(_ node: Node, _ path: String) -> Located<Int>? {
    if isPlain(node), let scalar = node.scalar {
      if node.tag.rawValue == Tag.Name.int.rawValue, let value = node.int {
        return Located(value, at: location(node), path: path)
      }
      if node.tag.rawValue == Tag.Name.int.rawValue {
        report(
          Diagnostic(.badSize, "'\(path)' is too large: '\(scalar.string)'", at: location(node)))
        return nil
      }
      if node.tag.rawValue == Tag.Name.float.rawValue, let d = node.float, d.isFinite,
        d == d.rounded(), abs(d) < 1e15
      {
        return Located(Int(d), at: location(node), path: path)
      }
    }
    typeError(node, path, expected: "a whole number")
    return nil
  }

  func double(_ node: Node, _ path: String) -> Located<Double>? {
    guard isPlain(node), node.tag.rawValue != Tag.Name.bool.rawValue, let value = node.float else {
      typeError(node, path, expected: "a number")
      return nil
    }
    return Located(value, at: location(node), path: path)
  }

  func bool(_ node: Node, _ path: String) -> Located<Bool>? {
    guard isPlain(node), node.tag.rawValue == Tag.Name.bool.rawValue, let value = node.bool else {
      typeError(node, path, expected: "true or false")
      return nil
    }
    return Located(value, at: location(node), path: path)
  }

  func string(_ node: Node, _ path: String) -> Located<String>? {
    guard let scalar = node.scalar, node.tag.rawValue != Tag.Name.null.rawValue else {
      typeError(node, path, expected: "a string")
      return nil
    }
    return Located(scalar.string, at: location(node), path: path)
  }

  /// One of a fixed set of names, with a "did you mean" hint for near misses.
  func choice<E: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, _ what: String)
    -> Located<E>? where E.RawValue == String
  {
    guard let text = string(node, path) else { return nil }
    if let value = E(rawValue: text.value) { return Located(value, at: text.location, path: path) }
    let names = E.allCases.map(\.rawValue)
    let normalized = text.value.lowercased().replacingOccurrences(of: "-", with: "_")
    let hint =
      Synonyms.valueHint(text.value, names: names)
      ?? closest(to: normalized, in: names).map { "did you mean '\($0)'?" }
    report(
      Diagnostic(
        .unknownChoice, "unknown \(what) '\(text.value)' for '\(path)'", at: text.location,
        notes: [
          DiagnosticNote("expected one of \(names.map { "'\($0)'" }.joined(separator: ", "))")
        ],
        help: hint))
    return nil
  }

  /// A string, or a non-empty list of strings.
  func names(_ node: Node, _ path: String) -> Located<[Located<String>]>? {
    if case .sequence(let items) = node {
      if items.isEmpty {
        report(Diagnostic(.badSize, "'\(path)' is an empty list", at: location(node)))
        return nil
      }
      let values = items.enumerated().compactMap { string($1, "\(path)[\($0)]") }
      guard values.count == items.count else { return nil }
      return Located(values, at: location(node), path: path)
    }
    return string(node, path).map { Located([$0], at: $0.location, path: path) }
  }

  /// A loss name, or `{type: NAME, label_smoothing: ε}` with 0 ≤ ε ≤ 1.
  func loss(_ node: Node, _ path: String) -> Located<LossValue>? {
    guard case .mapping = node else {
      let kind: Located<LossKind>? = choice(node, path, "loss")
      return kind.map { Located(LossValue(kind: $0.value), at: $0.location, path: path) }
    }
    guard let fields = fields(node, path, allowed: ["type", "label_smoothing"]) else { return nil }
    guard let typeNode = fields["type"] else {
      missing(
        "type", in: path, at: fields.location,
        help: "e.g. '{type: cross_entropy, label_smoothing: 0.1}'")
      return nil
    }
    guard let kind: Located<LossKind> = choice(typeNode, "\(path).type", "loss") else { return nil }
    var value = LossValue(kind: kind.value)
    if let n = fields["label_smoothing"] {
      guard let e = double(n, "\(path).label_smoothing"), e.value.isFinite, e.value >= 0,
        e.value <= 1
      else {
        report(
          Diagnostic(
            .hyperparameter, "'\(path).label_smoothing' must be a number from 0 to 1",
            at: location(n)))
        return nil
      }
      value.labelSmoothing = e
    }
    return Located(value, at: kind.location, path: path)
  }

  /// An ensemble's size k (TabM-mini), or `{members: k, kind: mini | independent |
  /// batch_ensemble}` (the members' bounds are the key's, checked with the other keys').
  func ensemble(_ node: Node, _ path: String) -> Located<EnsembleValue>? {
    guard case .mapping = node else {
      return int(node, path).map {
        Located(EnsembleValue(members: $0.value), at: $0.location, path: path)
      }
    }
    guard let fields = fields(node, path, allowed: ["members", "kind"]) else { return nil }
    guard let membersNode = fields["members"] else {
      missing("members", in: path, at: fields.location, help: "e.g. '{members: 8, kind: mini}'")
      return nil
    }
    var kind = EnsembleKind.mini
    if let kindNode = fields["kind"] {
      guard let written = string(kindNode, "\(path).kind") else { return nil }
      guard let known = EnsembleKind(rawValue: written.value) else {
        report(
          Diagnostic(
            .unknownChoice, "unknown ensemble kind '\(written.value)' for '\(path).kind'",
            at: written.location,
            notes: [
              DiagnosticNote(
                "expected 'mini' (TabM-mini: shared layers, own output layers), 'batch_ensemble' (TabM: BatchEnsemble layers) or 'independent' (k separate networks)"
              )
            ],
            help: closest(to: written.value, in: EnsembleKind.allCases.map(\.rawValue)).map {
              "did you mean '\($0)'?"
            }))
        return nil
      }
      kind = known
    }
    guard let members = int(membersNode, "\(path).members") else { return nil }
    return Located(
      EnsembleValue(members: members.value, kind: kind), at: members.location, path: path)
  }

  /// `balanced`, or a mapping of class names to finite weights > 0.
  func classWeights(_ node: Node, _ path: String) -> Located<ClassWeightsValue>? {
    if case .mapping(let mapping) = node {
      var entries: [(name: Located<String>, weight: Located<Double>)] = []
      for (key, value) in mapping {
        guard let name = string(key, path) else { return nil }
        guard let weight = double(value, "\(path).\(name.value)") else { return nil }
        guard weight.value.isFinite, weight.value > 0 else {
          report(
            Diagnostic(
              .hyperparameter,
              "'\(path).\(name.value)' must be a finite number greater than 0, found \(weight.value)",
              at: weight.location))
          return nil
        }
        entries.append((name, weight))
      }
      return Located(.mapping(entries), at: location(node), path: path)
    }
    guard let text = string(node, path) else { return nil }
    guard text.value == "balanced" else {
      report(
        Diagnostic(
          .unknownChoice, "'\(path)' must be 'balanced' or a mapping of class names to weights",
          at: text.location,
          help: closest(to: text.value, in: ["balanced"]).map { "did you mean '\($0)'?" }))
      return nil
    }
    return Located(.balanced, at: text.location, path: path)
  }

  func missing(_ key: String, in path: String, at location: SourceLocation, help: String? = nil) {
    let name = path.isEmpty ? key : "\(path).\(key)"
    report(Diagnostic(.missingKey, "missing required key '\(name)'", at: location, help: help))
  }

  private func isPlain(_ node: Node) -> Bool {
    guard let scalar = node.scalar else { return false }
    return scalar.style == .plain || scalar.style == .any
  }

  func typeError(_ node: Node, _ path: String, expected: String) {
    report(
      Diagnostic(
        .wrongType, "'\(path)' must be \(expected), found \(describe(node))", at: location(node)))
  }

  private func describe(_ node: Node) -> String {
    switch node {
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case .alias: return "an alias"
    case .scalar(let scalar):
      if node.tag.rawValue == Tag.Name.null.rawValue { return "nothing" }
      let shown = scalar.string.count > 40 ? String(scalar.string.prefix(40)) + "…" : scalar.string
      if !isPlain(node) { return "the string '\(shown)'" }
      switch Tag.Name(rawValue: node.tag.rawValue) {
      case .bool: return "the boolean '\(shown)'"
      case .int: return "the integer '\(shown)'"
      case .float: return "the number '\(shown)'"
      default: return "'\(shown)'"
      }
    }
  }
}

/// The checked keys of one mapping.
struct Fields {
  var location: SourceLocation
  var values: [String: (key: Node, value: Node)] = [:]

  subscript(_ key: String) -> Node? { values[key]?.value }
}

/// The candidate nearest to `word` by edit distance, if near enough to be a likely typo.
func closest(to word: String, in candidates: [String]) -> String? {
  let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
  guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
  return best.1 <= max(1, min(3, best.0.count / 3)) ? best.0 : nil
}

/// Levenshtein distance between two strings (by Unicode scalars).
func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a.unicodeScalars)
  let b = Array(b.unicodeScalars)
  if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
  var previous = Array(0...b.count)
  var current = previous
  for i in 1...a.count {
    current[0] = i
    for j in 1...b.count {
      let cost = a[i - 1] == b[j - 1] ? 0 : 1
      current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
    }
    swap(&previous, &current)
  }
  return previous[b.count]
}

/// The section a key path names ("" the top, "layers[0]" a layer, "training.schedule" …); nil
/// for paths inside a value (feature treatments).
func section(ofPath path: String) -> SpecSection? {
  if path.isEmpty { return .top }
  if path.hasPrefix("layers[") && !path.contains(".") { return .layer }
  return SpecSection.allCases.first { $0 != .top && $0 != .layer && $0.prefix() == path + "." }
}

/// The candidate nearest to `word`, if near enough to be a likely typo (for the executable).
public func nearestName(_ word: String, in candidates: [String]) -> String? {
  closest(to: word, in: candidates)
}

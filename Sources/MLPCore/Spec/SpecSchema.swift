// The JSON Schema (draft 2020-12) of spec format v1, printed by `mlpc schema`, and the key tables
// of docs/spec.md: both written from the key table in SpecKeys.swift, so neither can drift from
// what the parser accepts and the checker enforces.

import Foundation

/// JSON Schema and documentation tables of spec format v1.
public enum SpecSchema {
  /// The schema document.
  public static var json: String {
    var top = object(.top)
    top["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    top["$id"] = "https://mlpc.dev/schema/spec-v1.json"
    top["title"] = "mlpc spec, format version 1"
    top["description"] =
      "A multilayer perceptron: layers, activations, loss, data and training settings. See docs/spec.md."
    let data =
      try? JSONSerialization.data(
        withJSONObject: top, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    return String(decoding: data ?? Data(), as: UTF8.self)
  }

  /// An object schema for the keys of `section`.
  private static func object(_ section: SpecSection) -> [String: Any] {
    let keys = SpecKeys.keys(in: section)
    var schema: [String: Any] = [
      "type": "object", "additionalProperties": false,
      "properties": Dictionary(uniqueKeysWithValues: keys.map { ($0.name, property($0)) }),
    ]
    let required = keys.filter(\.required).map(\.name)
    if !required.isEmpty { schema["required"] = required }
    if section == .data {
      schema["oneOf"] = [["required": ["train", "target"]], ["required": ["generator"]]]
    }
    return schema
  }

  private static func property(_ key: KeyInfo) -> [String: Any] {
    var p: [String: Any] = ["description": key.summary]
    switch key.kind {
    case .integer: p["type"] = "integer"
    case .number: p["type"] = "number"
    case .boolean: p["type"] = "boolean"
    case .string: p["type"] = "string"
    case .names:
      p["oneOf"] = [
        ["type": "string"], ["type": "array", "items": ["type": "string"], "minItems": 1],
      ]
    case .choice(let names): p["enum"] = names
    case .mapping: p.merge(object(SpecSection(rawValue: key.name)!)) { a, _ in a }
    case .layerList:
      p.merge(["type": "array", "minItems": 1, "items": object(.layer)]) { a, _ in a }
    case .features:
      let treatment: [String: Any] = [
        "type": "object", "required": ["type"],
        "properties": [
          "type": ["enum": FeatureTreatment.Kind.allCases.map(\.rawValue)],
          "missing": ["enum": ["error", "mean", "median", "constant", "category"]],
          "fill": ["type": "number"], "indicator": ["type": "boolean"],
          "scale": ["enum": Scaling.allCases.map(\.rawValue)],
          "bins": ["type": "integer", "minimum": 2, "maximum": NumericTransform.maximumBins],
          "encoding": ["enum": FeatureTreatment.Encoding.allCases.map(\.rawValue)],
          // A categorical table's width, or a periodic embedding's (at most 1024).
          "dim": [
            "type": "integer", "minimum": 1, "maximum": FeatureTreatment.maxEmbeddingDim,
          ],
          "embedding": ["enum": FeatureTreatment.NumericEmbedding.allCases.map(\.rawValue)],
          "frequencies": [
            "type": "integer", "minimum": 1, "maximum": PeriodicSettings.maximumFrequencies,
          ],
          "sigma": ["type": "number", "exclusiveMinimum": 0],
          "lite": ["type": "boolean"],
          "min_frequency": ["type": "number", "exclusiveMinimum": 0],
          "max_categories": ["type": "integer", "minimum": 1],
        ] as [String: Any],
        "additionalProperties": false,
      ]
      p["oneOf"] = [
        ["type": "string"], ["type": "array", "items": ["type": "string"], "minItems": 1],
        [
          "type": "object", "minProperties": 1,
          "additionalProperties": [
            "oneOf": [["enum": FeatureTreatment.Kind.allCases.map(\.rawValue)], treatment]
          ],
        ] as [String: Any],
      ]
    case .classWeights:
      p["oneOf"] = [
        ["enum": ["balanced"]],
        [
          "type": "object",
          "additionalProperties": ["type": "number", "exclusiveMinimum": 0],
        ] as [String: Any],
      ]
    case .ensemble:
      let members: [String: Any] = [
        "type": "integer", "minimum": 1, "maximum": Network.maximumMembers,
      ]
      p["oneOf"] = [
        members,
        [
          "type": "object", "required": ["members"], "additionalProperties": false,
          "properties": [
            "members": members, "kind": ["enum": EnsembleKind.allCases.map(\.rawValue)],
          ] as [String: Any],
        ] as [String: Any],
      ]
    case .loss:
      let names = LossKind.allCases.map(\.rawValue)
      p["oneOf"] = [
        ["enum": names],
        [
          "type": "object", "required": ["type"], "additionalProperties": false,
          "properties": [
            "type": ["enum": names],
            "label_smoothing": ["type": "number", "minimum": 0, "maximum": 1],
          ] as [String: Any],
        ] as [String: Any],
      ]
    }
    if let b = key.bounds, key.kind != .ensemble {
      if let m = b.minimum { p[b.exclusiveMinimum ? "exclusiveMinimum" : "minimum"] = m }
      if let m = b.maximum { p[b.exclusiveMaximum ? "exclusiveMaximum" : "maximum"] = m }
    }
    if let json = key.defaultJSON,
      let value = try? JSONSerialization.jsonObject(
        with: Data(json.utf8), options: .fragmentsAllowed)
    {
      p["default"] = value
    }
    return p
  }

  /// The docs/spec.md table of one section's keys.
  public static func markdownTable(_ section: SpecSection) -> String {
    var out = "| key | type | default | meaning |\n|---|---|---|---|\n"
    for key in SpecKeys.keys(in: section) {
      out += "| `\(key.name)` | \(typeText(key)) | \(key.defaultText) | \(key.summary) |\n"
    }
    return out
  }

  /// The docs/spec.md table of activations, from their definitions.
  public static var activationTable: String {
    var out = "| activation | σ | `init: auto` | parameter |\n|---|---|---|---|\n"
    for a in Activation.allCases {
      let p = a.parameter.map { "`\($0.key)`, default `\($0.defaultValue)`" } ?? "—"
      out += "| `\(a.rawValue)` | \(a.summary) | \(a.defaultInitializer.rawValue) | \(p) |\n"
    }
    return out
  }

  /// Every generated table with the marker that precedes it in docs/spec.md
  /// (`mlpc schema --format markdown`).
  public static var markdown: String {
    (SpecSection.allCases.map { "<!-- keys: \($0.rawValue) -->\n" + markdownTable($0) }
      + ["<!-- activations -->\n" + activationTable]).joined(separator: "\n")
  }

  private static func typeText(_ key: KeyInfo) -> String {
    let bounds = key.bounds.map { " " + $0.describe(integer: key.kind == .integer) } ?? ""
    switch key.kind {
    case .integer: return "integer" + bounds.replacingOccurrences(of: "at least", with: "≥")
    case .number: return "number" + bounds.replacingOccurrences(of: " a finite number", with: "")
    case .boolean: return "boolean"
    case .string: return "string"
    case .names: return "string or list of strings"
    case .choice(let names): return names.map { "`\($0)`" }.joined(separator: " \\| ")
    case .mapping: return "mapping"
    case .layerList: return "list of layers"
    case .classWeights: return "`balanced` or mapping class → number > 0"
    case .loss:
      return LossKind.allCases.map { "`\($0.rawValue)`" }.joined(separator: " \\| ")
        + ", or `{type, label_smoothing}`"
    case .features: return "string, list of strings, or mapping column → treatment"
    case .ensemble:
      return
        "integer 1 to \(Network.maximumMembers), or `{members, kind}` (kind `mini`, `batch_ensemble` or `independent`)"
    }
  }
}

// What a spec says about one feature column (`data.features` as a mapping from column name to
// its treatment), read with located diagnostics:
//
//   features:
//     age: {type: numeric, missing: median, indicator: true, scale: quantile}
//     city: {type: categorical, min_frequency: 5}
//     id: ignore                       # a bare type is a treatment with its defaults
//
// numeric: missing error | mean | median | constant (+ fill), indicator, scale standard | robust |
// minmax | quantile | log | piecewise_linear (+ bins) | none (default: missing error, scale
// standard);
// categorical: encoding one_hot | embedding (+ dim), missing category | error, min_frequency,
// max_categories (default: one_hot, missing category); boolean: exactly two values, one 0/1 column. The list form (`features: [a, b]`) stays: numeric columns read as
// they always were.

import Yams

/// How a spec declares its feature columns.
public enum FeaturesValue: Sendable {
  /// The columns, in order, read as numbers as they are.
  case names([Located<String>])
  /// Each column with its treatment, in the order written.
  case treatments([(name: Located<String>, treatment: FeatureTreatment)])

  /// The column names, in order (ignored ones included).
  public var names: [Located<String>] {
    switch self {
    case .names(let names): names
    case .treatments(let list): list.map(\.name)
    }
  }
}

/// One feature column's declared treatment.
public struct FeatureTreatment: Sendable, Equatable {
  public enum Kind: String, CaseIterable, Sendable, Codable {
    case numeric, categorical, boolean, ignore
  }

  /// Categorical encodings: one 0/1 column per level, or a learned table (a layer of the plan).
  public enum Encoding: String, CaseIterable, Sendable {
    case oneHot = "one_hot"
    case embedding
  }

  /// The largest embedding width a spec may ask for.
  public static let maxEmbeddingDim = 4096

  public var kind: Kind
  public var imputation: Imputation = .error
  public var fill: Double?
  public var indicator = false
  public var scaling: Scaling = .standard
  /// Bins of a piecewise-linear encoding (nil: `NumericTransform.defaultBins`).
  public var bins: Int?
  public var categoricalMissing: CategoricalMissing = .category
  public var minFrequency: Double?
  public var maxCategories: Int?
  public var encoding: Encoding = .oneHot
  /// An embedding's width (nil: `CategoricalTransform.defaultDim` of its levels).
  public var dim: Int?
  public var location: SourceLocation?

  public init(kind: Kind) { self.kind = kind }

  /// The keys a treatment of each kind may have.
  static func keys(_ kind: Kind) -> [String] {
    switch kind {
    case .numeric: ["type", "missing", "fill", "indicator", "scale", "bins"]
    case .categorical: ["type", "encoding", "dim", "missing", "min_frequency", "max_categories"]
    case .boolean, .ignore: ["type"]
    }
  }
}

/// pandas' default `na_values`: the cells read as missing unless `data.missing_values` says
/// otherwise.
public let defaultMissingValues = [
  "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
  "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]

extension NodeReader {
  /// `data.features`: a name, a list of names, or a mapping from names to treatments.
  func features(_ node: Node, _ path: String) -> Located<FeaturesValue>? {
    guard case .mapping(let mapping) = node else {
      return names(node, path).map { Located(.names($0.value), at: $0.location, path: path) }
    }
    if mapping.isEmpty {
      report(Diagnostic(.badSize, "'\(path)' is an empty mapping", at: location(node)))
      return nil
    }
    var list: [(name: Located<String>, treatment: FeatureTreatment)] = []
    var ok = true
    for (key, value) in mapping {
      guard let name = string(key, path) else {
        ok = false
        continue
      }
      guard let treatment = treatment(value, "\(path).\(name.value)") else {
        ok = false
        continue
      }
      list.append((name, treatment))
    }
    return ok ? Located(.treatments(list), at: location(node), path: path) : nil
  }

  /// One column's treatment: a bare type, or a mapping with `type` and its options.
  private func treatment(_ node: Node, _ path: String) -> FeatureTreatment? {
    if node.scalar != nil {
      guard let kind: Located<FeatureTreatment.Kind> = choice(node, path, "feature type") else {
        return nil
      }
      var t = FeatureTreatment(kind: kind.value)
      t.location = kind.location
      if kind.value == .numeric { t.imputation = .error }
      return t
    }
    guard case .mapping = node else {
      typeError(node, path, expected: "a feature type or a mapping with 'type'")
      return nil
    }
    let all = Set(FeatureTreatment.Kind.allCases.flatMap { FeatureTreatment.keys($0) })
    guard let fields = fields(node, path, allowed: all.sorted()) else { return nil }
    guard let typeNode = fields["type"] else {
      report(
        Diagnostic(
          .missingKey, "'\(path)' needs a 'type': numeric, categorical or ignore",
          at: fields.location))
      return nil
    }
    guard
      let kind: Located<FeatureTreatment.Kind> = choice(typeNode, "\(path).type", "feature type")
    else { return nil }
    var t = FeatureTreatment(kind: kind.value)
    t.location = fields.location
    let allowed = FeatureTreatment.keys(kind.value)
    var ok = true
    for (name, entry) in fields.values.sorted(by: { $0.key < $1.key })
    where !allowed.contains(name) {
      report(
        Diagnostic(
          .unknownKey, "'\(path).\(name)' does not apply to a \(kind.value.rawValue) feature",
          at: location(entry.key),
          notes: [DiagnosticNote("keys here: " + allowed.map { "'\($0)'" }.joined(separator: ", "))]
        ))
      ok = false
    }
    switch kind.value {
    case .ignore, .boolean: break
    case .numeric:
      if let n = fields["missing"] {
        guard let m: Located<Imputation> = choice(n, "\(path).missing", "imputation") else {
          return nil
        }
        t.imputation = m.value
      }
      if let n = fields["fill"] {
        guard let f = double(n, "\(path).fill"), f.value.isFinite else {
          report(
            Diagnostic(.hyperparameter, "'\(path).fill' must be a finite number", at: location(n)))
          return nil
        }
        t.fill = f.value
        if t.imputation != .constant { ignored("\(path).fill", without: "missing: constant", f) }
      }
      if let n = fields["indicator"] {
        guard let b = bool(n, "\(path).indicator") else { return nil }
        t.indicator = b.value
      }
      if let n = fields["scale"] {
        guard let s: Located<Scaling> = choice(n, "\(path).scale", "scaling") else { return nil }
        t.scaling = s.value
      }
      if let n = fields["bins"] {
        guard let b = wholeNumber(n, "\(path).bins", 2...NumericTransform.maximumBins) else {
          return nil
        }
        t.bins = b.value
        if t.scaling != .piecewiseLinear {
          ignored("\(path).bins", without: "scale: piecewise_linear", b)
        }
      }
    case .categorical:
      if let n = fields["encoding"] {
        guard let e: Located<FeatureTreatment.Encoding> = choice(n, "\(path).encoding", "encoding")
        else { return nil }
        t.encoding = e.value
      }
      if let n = fields["dim"] {
        guard let d = wholeNumber(n, "\(path).dim", 1...FeatureTreatment.maxEmbeddingDim) else {
          return nil
        }
        t.dim = d.value
        if t.encoding != .embedding { ignored("\(path).dim", without: "encoding: embedding", d) }
      }
      if let n = fields["missing"] {
        guard let m: Located<CategoricalMissing> = choice(n, "\(path).missing", "missing rule")
        else { return nil }
        t.categoricalMissing = m.value
      }
      if let n = fields["min_frequency"] {
        guard let f = double(n, "\(path).min_frequency"), f.value.isFinite, f.value > 0,
          f.value < 1 || f.value == f.value.rounded()
        else {
          report(
            Diagnostic(
              .badSize,
              "'\(path).min_frequency' must be a fraction of the rows (between 0 and 1) or a whole count",
              at: location(n)))
          return nil
        }
        t.minFrequency = f.value
      }
      if let n = fields["max_categories"] {
        guard let c = int(n, "\(path).max_categories"), c.value >= 1 else {
          report(
            Diagnostic(.badSize, "'\(path).max_categories' must be at least 1", at: location(n)))
          return nil
        }
        t.maxCategories = c.value
      }
    }
    return ok ? t : nil
  }

  /// A whole number in `range`, or nil and a located E007.
  private func wholeNumber(_ node: Node, _ path: String, _ range: ClosedRange<Int>)
    -> Located<Int>?
  {
    guard let value = int(node, path), range.contains(value.value) else {
      report(
        Diagnostic(
          .badSize,
          "'\(path)' must be a whole number from \(range.lowerBound) to \(range.upperBound)",
          at: location(node)))
      return nil
    }
    return value
  }

  /// The warning for a treatment key that the other keys make irrelevant.
  private func ignored<T>(_ path: String, without needed: String, _ value: Located<T>) {
    report(
      Diagnostic(
        .ignoredSetting, "'\(path)' has no effect without '\(needed)'", at: value.location))
  }
}

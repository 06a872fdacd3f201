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

  /// Numeric embeddings: none (the scaled value is a column of x^0), or periodic (PLR).
  public enum NumericEmbedding: String, CaseIterable, Sendable {
    case none, periodic
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
  /// A numeric column's periodic embedding (`embedding: periodic`), if any.
  public var periodic: PeriodicSettings?
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
    case .numeric:
      [
        "type", "missing", "fill", "indicator", "scale", "bins", "embedding", "frequencies",
        "dim", "sigma", "lite",
      ]
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
    // Lite columns share one linear layer, so they need the same frequencies and width.
    let lite = list.filter { $0.treatment.periodic?.lite == true }
    if let first = lite.first?.treatment.periodic {
      for (name, t) in lite.dropFirst()
      where t.periodic!.frequencies != first.frequencies || t.periodic!.dim != first.dim {
        report(
          Diagnostic(
            .conflict,
            "'\(path).\(name.value)' is a lite periodic embedding with \(t.periodic!.frequencies) frequencies and dim \(t.periodic!.dim), but '\(lite[0].name.value)' has \(first.frequencies) and \(first.dim)",
            at: t.location ?? name.location,
            notes: [
              DiagnosticNote(
                "lite periodic embeddings share one linear layer, so every lite column needs the same 'frequencies' and 'dim'"
              )
            ]))
        ok = false
      }
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
      guard periodic(fields, path, into: &t) else { return nil }
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

  /// A numeric column's `embedding` and its options into `t.periodic`; false after a located
  /// error.
  private func periodic(_ fields: Fields, _ path: String, into t: inout FeatureTreatment) -> Bool {
    var embedding = FeatureTreatment.NumericEmbedding.none
    if let n = fields["embedding"] {
      guard
        let e: Located<FeatureTreatment.NumericEmbedding> = choice(
          n, "\(path).embedding", "numeric embedding")
      else { return false }
      embedding = e.value
      if e.value == .periodic, t.scaling == .piecewiseLinear {
        report(
          Diagnostic(
            .conflict,
            "'\(path).embedding: periodic' embeds one number per row, but 'scale: piecewise_linear' makes one per bin",
            at: e.location,
            notes: [
              DiagnosticNote(
                "use one of them: another 'scale' with the periodic embedding, or no embedding")
            ]))
        return false
      }
    }
    var settings = PeriodicSettings()
    let options: [(String, (Node) -> Bool)] = [
      (
        "frequencies",
        {
          guard
            let k = self.wholeNumber(
              $0, "\(path).frequencies", 1...PeriodicSettings.maximumFrequencies)
          else { return false }
          settings.frequencies = k.value
          return true
        }
      ),
      (
        "dim",
        {
          guard let d = self.wholeNumber($0, "\(path).dim", 1...PeriodicSettings.maximumDim) else {
            return false
          }
          settings.dim = d.value
          return true
        }
      ),
      (
        "sigma",
        {
          guard let v = self.double($0, "\(path).sigma"), v.value.isFinite, v.value > 0 else {
            self.report(
              Diagnostic(
                .hyperparameter, "'\(path).sigma' must be a number above 0", at: self.location($0)))
            return false
          }
          settings.sigma = v.value
          return true
        }
      ),
      (
        "lite",
        {
          guard let b = self.bool($0, "\(path).lite") else { return false }
          settings.lite = b.value
          return true
        }
      ),
    ]
    for (key, read) in options {
      guard let n = fields[key] else { continue }
      guard read(n) else { return false }
      if embedding != .periodic {
        report(
          Diagnostic(
            .ignoredSetting, "'\(path).\(key)' has no effect without 'embedding: periodic'",
            at: location(n)))
      }
    }
    if embedding == .periodic { t.periodic = settings }
    return true
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

// The feature block of a network: the declared columns of a raw table turned into the input
// matrix. Reading keeps each declared column raw (a number, or a category's code into the
// column's dictionary; NaN when missing), so the data can be split first; the transforms are then
// fitted on the training split only and applied to every split, and stored in the model file so
// prediction applies the same numbers to raw rows.

import Foundation

/// The raw values of a table's declared feature columns, as read: numbers, or codes of the
/// categories seen (NaN: missing). The dictionaries grow as further files (test, prediction)
/// are read.
public struct RawColumns: Sendable {
  public let names: [String]
  public let treatments: [FeatureTreatment]
  /// Per column, the categories in code order (empty for numeric columns).
  public private(set) var dictionaries: [[String]]
  private var codes: [[String: Int]]
  /// The table's other columns (the target, and columns the features leave out).
  public var unread: [String] = []

  public init(names: [String], treatments: [FeatureTreatment]) {
    (self.names, self.treatments) = (names, treatments)
    dictionaries = names.map { _ in [] }
    codes = names.map { _ in [:] }
  }

  /// The code of category `text` in column `column`, added when new.
  public mutating func code(_ text: String, column: Int) -> Float {
    if let c = codes[column][text] { return Float(c) }
    let c = dictionaries[column].count
    dictionaries[column].append(text)
    codes[column][text] = c
    return Float(c)
  }
}

/// The fitted transforms of every declared feature column.
public struct FeatureEncoder: Codable, Sendable, Equatable {
  public struct Column: Codable, Sendable, Equatable {
    public var name: String
    public var numeric: NumericTransform?
    public var categorical: CategoricalTransform?

    /// Columns in a loaded row.
    public var width: Int { numeric?.width ?? categorical?.width ?? 0 }
    /// Columns in x^0.
    public var inputWidth: Int { numeric?.inputWidth ?? categorical?.inputWidth ?? 0 }

    /// The transform in words, for `mlpc plan`: "median fill, standard", "one-hot 3 + other".
    public var transformText: String {
      if let n = numeric {
        let fill =
          n.fill.map { "fill " + String(format: "%g", $0) }
          ?? "no missing"
        let bins = n.scaling == .piecewiseLinear ? " (\(n.valueWidth) bins)" : ""
        let periodic =
          n.periodic.map {
            ", periodic \($0.frequencies) → \($0.dim)\($0.lite ? " lite" : "")"
          } ?? ""
        return
          "numeric: \(fill)\(n.indicator ? " + indicator" : ""), \(n.scaling.rawValue)\(bins)\(periodic)"
      }
      guard let c = categorical else { return "" }
      if c.binary { return "boolean: 1 for '\(c.levels[1])'" }
      if let dim = c.embeddingDim {
        return
          "embedding: \(c.levels.count) levels + \(c.infrequent.isEmpty ? "unknown" : "other") → \(dim)"
      }
      return "one-hot: \(c.levels.count) levels" + (c.infrequent.isEmpty ? "" : " + other")
    }
  }

  public var columns: [Column]
  /// The cells read as missing.
  public var missingValues: [String]
  /// The training table's columns declared (or inferred) `ignore`: a row that holds them, as the
  /// table did, is read without them (nil in model files written before it was recorded).
  public var ignored: [String]? = nil

  enum CodingKeys: String, CodingKey {
    case columns
    case missingValues = "missing_values"
    case ignored
  }

  /// n^0: the encoded width of every column in x^0.
  public var width: Int { columns.reduce(0) { $0 + $1.inputWidth } }

  /// Where each column's encoding starts in x^0 (its first bin, level or value).
  public var inputStarts: [Int] {
    var offset = 0
    return columns.map { c in
      defer { offset += c.inputWidth }
      return offset
    }
  }

  /// Columns of an encoded (loaded) row: an embedded column is one code there.
  public var loadedWidth: Int { columns.reduce(0) { $0 + $1.width } }

  /// The embedding tables of the embedded columns, placed in loaded rows and in x^0.
  public var embeddings: [EmbeddingTable] {
    var (column, offset) = (0, 0)
    var tables: [EmbeddingTable] = []
    for c in columns {
      if let t = c.categorical, let dim = t.embeddingDim {
        tables.append(
          EmbeddingTable(
            name: c.name, rows: t.tableRows, dim: dim, column: column, offset: offset,
            unknownRow: t.infrequent.isEmpty))
      }
      (column, offset) = (column + c.width, offset + c.inputWidth)
    }
    return tables
  }

  /// The periodic embeddings of the numeric columns that have one, placed in loaded rows and
  /// in x^0.
  public var periodicEmbeddings: [PeriodicEmbedding] {
    var (column, offset) = (0, 0)
    var list: [PeriodicEmbedding] = []
    for c in columns {
      if let p = c.numeric?.periodic {
        list.append(
          PeriodicEmbedding(
            name: c.name, frequencies: p.frequencies, dim: p.dim, sigma: p.sigma, lite: p.lite,
            column: column, offset: offset))
      }
      (column, offset) = (column + c.width, offset + c.inputWidth)
    }
    return list
  }

  /// The names of the encoded inputs: a numeric column's name (and `name_missing` for its
  /// indicator), `name=level` per level of a categorical one (`name=(missing)`, `name=(other)`).
  public var encodedNames: [String] {
    columns.flatMap { c -> [String] in
      if let n = c.numeric {
        let values =
          n.scaling == .piecewiseLinear
          ? (1...n.valueWidth).map { "\(c.name)#bin\($0)" } : [c.name]
        return values + (n.indicator ? [c.name + "_missing"] : [])
      }
      guard let t = c.categorical else { return [] }
      if t.binary { return [c.name + "=" + t.levels[1]] }
      if t.embeddingDim != nil { return [c.name] }
      return t.levels.map {
        c.name + "=" + ($0 == CategoricalTransform.missingLevel ? "(missing)" : $0)
      } + (t.infrequent.isEmpty ? [] : [c.name + "=(other)"])
    }
  }

  /// Fits every column on the training rows of `raw` (count × columns, as `RawColumns` read it).
  /// On failure, the column and why.
  public static func fit(_ raw: Dataset, _ columns: RawColumns, missingValues: [String])
    -> Result<FeatureEncoder, FeatureProblem>
  {
    var fitted: [Column] = []
    var ignored = columns.unread
    for (j, treatment) in columns.treatments.enumerated() {
      var column = Column(name: columns.names[j])
      switch treatment.kind {
      case .ignore:
        ignored.append(columns.names[j])
        continue
      case .numeric:
        let cells = (0..<raw.count).map { r -> Double? in
          let v = raw.features[r * raw.inputs + j]
          return v.isNaN ? nil : Double(v)
        }
        switch NumericTransform.fit(
          cells, missing: treatment.imputation, fill: treatment.fill,
          indicator: treatment.indicator, scaling: treatment.scaling,
          bins: treatment.bins ?? NumericTransform.defaultBins)
        {
        case .success(var t):
          t.periodic = treatment.periodic
          column.numeric = t
        case .failure(var p):
          p.column = j
          return .failure(p)
        }
      case .categorical, .boolean:
        let dictionary = columns.dictionaries[j]
        let cells = (0..<raw.count).map { r -> String? in
          let v = raw.features[r * raw.inputs + j]
          return v.isNaN ? nil : dictionary[Int(v)]
        }
        let fitted =
          treatment.kind == .boolean
          ? CategoricalTransform.fitBoolean(cells)
          : CategoricalTransform.fit(
            cells, missing: treatment.categoricalMissing, minFrequency: treatment.minFrequency,
            maxCategories: treatment.maxCategories)
        switch fitted {
        case .success(let t):
          column.categorical = treatment.encoding == .embedding ? t.embedded(dim: treatment.dim) : t
        case .failure(var p):
          p.column = j
          return .failure(p)
        }
      }
      fitted.append(column)
    }
    return .success(
      FeatureEncoder(
        columns: fitted, missingValues: missingValues, ignored: ignored.isEmpty ? nil : ignored))
  }

  /// `raw` encoded: the same rows and targets, `width` inputs. Also, per raw column, how many
  /// cells held a level never seen in training, and the first of them; or the first cell a
  /// transform refused (a missing cell where missing is an error, a negative value under `log`).
  public func encode(_ raw: Dataset, _ columns: RawColumns) -> Result<
    (data: Dataset, unseen: [String: (count: Int, first: String)]), FeatureProblem
  > {
    let width = loadedWidth
    var out = [Float](repeating: 0, count: raw.count * width)
    var unseen: [String: (count: Int, first: String)] = [:]
    let rawIndex = Dictionary(columns.names.enumerated().map { ($1, $0) }) { a, _ in a }
    // Column by column: a numeric cell through its transform; a categorical cell's encoding
    // (the same for every row with its raw code) computed once per code and copied.
    var firstProblem: FeatureProblem?
    var at = 0
    for column in self.columns {
      let j = rawIndex[column.name]!
      let w = column.width
      out.withUnsafeMutableBufferPointer { o in
        raw.features.withUnsafeBufferPointer { f in
          if let t = column.numeric {
            for r in 0..<raw.count {
              let v = f[r * raw.inputs + j]
              let start = r * width + at
              if case .failure(var p) = t.write(
                v.isNaN ? nil : Double(v),
                into: UnsafeMutableBufferPointer(rebasing: o[start..<start + w]))
              {
                (p.row, p.column) = (r, j)
                // The first row's problem, as a row-by-row pass would find it.
                if firstProblem == nil || (firstProblem!.row ?? 0) > r { firstProblem = p }
                return
              }
            }
          } else if let t = column.categorical {
            let dictionary = columns.dictionaries[j]
            // Index 0: a missing cell; c + 1: raw code c.
            var cache: [(values: [Float], unseen: Bool)?] = Array(
              repeating: nil, count: dictionary.count + 1)
            var count = unseen[column.name]?.count ?? 0
            var first = unseen[column.name]?.first
            for r in 0..<raw.count {
              let v = f[r * raw.inputs + j]
              let key = v.isNaN ? 0 : Int(v) + 1
              if cache[key] == nil {
                var values = [Float](repeating: 0, count: w)
                let cell = key == 0 ? nil : dictionary[key - 1]
                let slot = values.withUnsafeMutableBufferPointer { t.encode(cell, into: $0) }
                let isUnseen = if case .unseen = slot { true } else { false }
                cache[key] = (values, isUnseen)
              }
              let encoded = cache[key]!
              let start = r * width + at
              for k in 0..<w { o[start + k] = encoded.values[k] }
              if encoded.unseen {
                count += 1
                if first == nil { first = key == 0 ? "(missing)" : dictionary[key - 1] }
              }
            }
            if let first { unseen[column.name] = (count, first) }
          }
        }
      }
      at += w
    }
    if let firstProblem { return .failure(firstProblem) }
    let data = Dataset(
      features: out, targets: raw.targets, inputs: max(1, width), outputs: raw.outputs,
      labels: raw.labels)
    return .success((data, unseen))
  }

  /// Encodes one row of raw cells (in `columns` order; nil: missing) into `out`. The columns
  /// whose level was never seen in training, or the first cell a transform refused.
  public func encode(
    _ cells: [RawCell], into out: UnsafeMutableBufferPointer<Float>
  ) -> Result<[Int], FeatureProblem> {
    var at = 0
    var unseen: [Int] = []
    for (k, column) in columns.enumerated() {
      switch (column.numeric, column.categorical, cells[k]) {
      case (let t?, _, .number(let x)):
        if case .failure(var p) = t.write(
          x, into: UnsafeMutableBufferPointer(rebasing: out[at..<at + t.width]))
        {
          p.column = k
          return .failure(p)
        }
      case (_, let t?, .text(let text)):
        let slot = t.encode(
          text, into: UnsafeMutableBufferPointer(rebasing: out[at..<at + t.width]))
        if case .unseen = slot { unseen.append(k) }
      default:
        return .failure(FeatureProblem("the cell does not fit the column's type", column: k))
      }
      at += column.width
    }
    return .success(unseen)
  }
}

/// One raw cell for prediction: a number (nil: missing) for a numeric column, a text (nil:
/// missing) for a categorical one.
public enum RawCell: Sendable {
  case number(Double?)
  case text(String?)
}

/// What a warning says of `count` rows (of `split`, when given) whose feature `name` holds levels
/// never seen in training, `first` the first of them.
func unseenLevelsText(_ count: Int, feature name: String, first: String, split: String? = nil)
  -> String
{
  let rows = "\(count) \(split.map { "\($0) " } ?? "")row"
  return count == 1
    ? "\(rows) of feature '\(name)' holds a level never seen in training (first: '\(first)'); it is encoded as unknown"
    : "\(rows)s of feature '\(name)' hold levels never seen in training (first: '\(first)'); they are encoded as unknown"
}

// A categorical feature column's one-hot encoding, fitted on the training rows as
// scikit-learn's OneHotEncoder fits it: levels in code-point order, missing cells a level of their
// own placed last (`missing: category`) or an error; levels seen fewer than `min_frequency` times
// (a count, or a fraction of the rows) and, with `max_categories`, all but the most frequent
// max_categories − 1 share one "other" column after the levels (ties broken towards the later
// level, as its stable sort does). A level never seen in training goes to the "other" column when
// there is one and otherwise gives all zeros (`handle_unknown='infrequent_if_exist'`); either
// way the caller counts and reports it.

import Foundation

/// How missing categorical cells are treated.
public enum CategoricalMissing: String, Codable, Sendable, CaseIterable {
  case category, error
}

/// A categorical column's fitted one-hot encoding.
public struct CategoricalTransform: Codable, Sendable, Equatable {
  /// The levels with a column each, in output order.
  public let levels: [String]
  /// Whether missing cells form a level (the last of `levels` names it `missingLevel`).
  public let missingIsLevel: Bool
  /// The levels that share the "other" column (empty: there is none).
  public let infrequent: [String]
  /// A boolean column: exactly two levels, one 0/1 column that is 1 for the second (as
  /// OneHotEncoder(drop='if_binary') keeps it); an unseen level gives 0.
  public let binary: Bool
  /// With `encoding: embedding`, the table's width: the column is then one code in a loaded row
  /// (a level's index; `levels.count` for "other" or an unseen level) and `dim` columns of x^0.
  public let embeddingDim: Int?

  /// How a missing level is named among `levels` (not a string a CSV cell can hold).
  public static let missingLevel = "\u{0}missing"

  /// The columns this feature takes in a loaded row (one code for an embedding).
  public var width: Int {
    binary || embeddingDim != nil ? 1 : levels.count + (infrequent.isEmpty ? 0 : 1)
  }

  /// The columns this feature takes in x^0.
  public var inputWidth: Int { embeddingDim ?? width }

  /// An embedding table's rows: one per level, and a last one for "other" (rare levels) or, when
  /// no level is rare, for levels never seen in training (the unknown level, kept at 0).
  public var tableRows: Int { levels.count + 1 }

  /// The default embedding width for a column of `rows` table rows: min(600, round(1.6 ·
  /// rows^0.56)), the rule fastai's `emb_sz_rule` uses.
  public static func defaultDim(rows: Int) -> Int {
    min(600, Int((1.6 * pow(Double(rows), 0.56)).rounded()))
  }

  /// Where a cell goes: a level's column, the "other" column (an infrequent level), or, for a
  /// level never seen in training, the "other" column when there is one and nothing otherwise.
  public enum Slot: Equatable, Sendable {
    case level(Int)
    case other
    case unseen(intoOther: Bool)
  }

  /// Level → column, for encoding.
  private let index: [String: Int]
  private let infrequentSet: Set<String>

  enum CodingKeys: String, CodingKey {
    case levels, infrequent, binary
    case missingIsLevel = "missing_is_level"
    case embeddingDim = "embedding_dim"
  }

  public init(
    levels: [String], missingIsLevel: Bool, infrequent: [String], binary: Bool = false,
    embeddingDim: Int? = nil
  ) {
    (self.levels, self.missingIsLevel, self.infrequent) = (levels, missingIsLevel, infrequent)
    self.binary = binary
    self.embeddingDim = binary ? nil : embeddingDim
    index = Dictionary(levels.enumerated().map { ($1, $0) }) { a, _ in a }
    infrequentSet = Set(infrequent)
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      levels: try c.decode([String].self, forKey: .levels),
      missingIsLevel: try c.decode(Bool.self, forKey: .missingIsLevel),
      infrequent: try c.decode([String].self, forKey: .infrequent),
      binary: try c.decodeIfPresent(Bool.self, forKey: .binary) ?? false,
      embeddingDim: try c.decodeIfPresent(Int.self, forKey: .embeddingDim))
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(levels, forKey: .levels)
    try c.encode(missingIsLevel, forKey: .missingIsLevel)
    try c.encode(infrequent, forKey: .infrequent)
    if binary { try c.encode(binary, forKey: .binary) }
    try c.encodeIfPresent(embeddingDim, forKey: .embeddingDim)
  }

  public static func == (a: Self, b: Self) -> Bool {
    (a.levels, a.missingIsLevel, a.infrequent, a.binary, a.embeddingDim)
      == (b.levels, b.missingIsLevel, b.infrequent, b.binary, b.embeddingDim)
  }

  /// The same levels as a learned table of width `dim` (nil: the default for its rows).
  public func embedded(dim: Int?) -> CategoricalTransform {
    CategoricalTransform(
      levels: levels, missingIsLevel: missingIsLevel, infrequent: infrequent,
      embeddingDim: dim ?? Self.defaultDim(rows: tableRows))
  }

  /// An embedding's table row for `slot`: the level's, else the last.
  public func code(_ slot: Slot) -> Int {
    if case .level(let i) = slot { i } else { levels.count }
  }

  /// Fits the encoding on a column's training cells (nil: missing).
  /// `minFrequency` below 1 is a fraction of the rows; 1 or more a count.
  public static func fit(
    _ cells: [String?], missing: CategoricalMissing = .category, minFrequency: Double? = nil,
    maxCategories: Int? = nil
  ) -> Result<CategoricalTransform, FeatureProblem> {
    var counts: [String: Int] = [:]
    var absent = 0
    for cell in cells {
      if let cell { counts[cell, default: 0] += 1 } else { absent += 1 }
    }
    if absent > 0, missing == .error {
      return .failure(FeatureProblem("\(absent) cells are missing and 'missing' is 'error'"))
    }
    guard !cells.isEmpty else { return .failure(FeatureProblem("the column has no rows")) }
    var categories = counts.keys.sorted {
      $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars)
    }
    if absent > 0 {
      categories.append(missingLevel)
      counts[missingLevel] = absent
    }
    var isInfrequent = [Bool](repeating: false, count: categories.count)
    if let minFrequency {
      let threshold = minFrequency < 1 ? minFrequency * Double(cells.count) : minFrequency
      for (i, c) in categories.enumerated() where Double(counts[c]!) < threshold {
        isInfrequent[i] = true
      }
    }
    let frequentCount = categories.count - isInfrequent.count { $0 } + 1
    if let maxCategories, maxCategories < frequentCount {
      let keep = maxCategories - 1
      if keep <= 0 {
        isInfrequent = isInfrequent.map { _ in true }
      } else {
        // Stable ascending by count; all but the last `keep` become infrequent.
        let order = categories.indices.sorted {
          (counts[categories[$0]]!, $0) < (counts[categories[$1]]!, $1)
        }
        for i in order.dropLast(keep) { isInfrequent[i] = true }
      }
    }
    let levels = categories.indices.filter { !isInfrequent[$0] }.map { categories[$0] }
    let infrequent = categories.indices.filter { isInfrequent[$0] }.map { categories[$0] }
    return .success(
      CategoricalTransform(levels: levels, missingIsLevel: absent > 0, infrequent: infrequent))
  }

  /// Fits a boolean column: exactly two values, no missing cell.
  public static func fitBoolean(_ cells: [String?]) -> Result<CategoricalTransform, FeatureProblem>
  {
    let absent = cells.count { $0 == nil }
    if absent > 0 {
      return .failure(
        FeatureProblem("\(absent) cells are missing; a boolean column needs a value in every row"))
    }
    let levels = Set(cells.compactMap { $0 }).sorted {
      $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars)
    }
    guard levels.count == 2 else {
      return .failure(
        FeatureProblem(
          "a boolean column needs exactly two values; found \(levels.count)"
            + (levels.isEmpty
              ? "" : " (\(levels.prefix(5).map { "'\($0)'" }.joined(separator: ", ")))")
        ))
    }
    return .success(
      CategoricalTransform(levels: levels, missingIsLevel: false, infrequent: [], binary: true))
  }

  /// Where `cell` (nil: missing) goes.
  public func slot(_ cell: String?) -> Slot {
    let key = cell ?? Self.missingLevel
    if let i = index[key] { return .level(i) }
    if infrequentSet.contains(key) { return .other }
    return .unseen(intoOther: !infrequent.isEmpty)
  }

  /// Writes the one-hot columns of `cell` at `out` (width `width`), or its embedding code; the
  /// slot it went to.
  @discardableResult
  public func encode(_ cell: String?, into out: UnsafeMutableBufferPointer<Float>) -> Slot {
    for i in 0..<width { out[i] = 0 }
    let s = slot(cell)
    if embeddingDim != nil {
      out[0] = Float(code(s))
      return s
    }
    if binary {
      if case .level(1) = s { out[0] = 1 }
      return s
    }
    switch s {
    case .level(let i): out[i] = 1
    case .other, .unseen(intoOther: true): out[levels.count] = 1
    case .unseen(intoOther: false): break
    }
    return s
  }
}

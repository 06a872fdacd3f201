// Embedding lookups, forward and backward side by side. A loaded row holds the encoded columns
// of the data set: plain numbers, and for each embedded categorical column its level's code (a
// whole number stored as a float). x^0 holds the plain columns in their runs and, in place of
// each code, its table's row.
// R = rows in the batch, I = encoded columns of a loaded row, O = n^0, D = an embedding's width.

/// A run of plain columns copied from a loaded row into x^0.
public struct ColumnRun: Sendable, Equatable {
  /// First column in the loaded row, first column in x^0, and how many.
  public var from: Int
  public var to: Int
  public var count: Int

  public init(from: Int, to: Int, count: Int) {
    (self.from, self.to, self.count) = (from, to, count)
  }
}

/// One embedded column: the code in column `column` of a loaded row selects a row of `table`
/// (rows, D), placed at columns offset..<offset + D of x^0. A code outside the table (or NaN)
/// selects the last row, the unknown level.
public struct EmbeddingLookup<Ref> {
  public var column: Int
  public var table: Ref
  public var rows: Int
  public var dim: Int
  public var offset: Int

  public init(column: Int, table: Ref, rows: Int, dim: Int, offset: Int) {
    (self.column, self.table, self.rows, self.dim, self.offset) = (column, table, rows, dim, offset)
  }

  /// The same lookup with another reference to its table.
  public func map<T>(_ f: (Ref) -> T) -> EmbeddingLookup<T> {
    EmbeddingLookup<T>(column: column, table: f(table), rows: rows, dim: dim, offset: offset)
  }

  /// The table row a code selects.
  @inline(__always)
  func row(_ code: Float) -> Int { code >= 0 && code < Float(rows) ? Int(code) : rows - 1 }
}

extension EmbeddingLookup: Sendable where Ref: Sendable {}
extension EmbeddingLookup: Equatable where Ref: Equatable {}

/// x^0 (R, O) from loaded rows x (R, I): each run copied, each code's table row gathered.
func embedForward(
  x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, inputs: Int, outputs: Int,
  runs: [ColumnRun], lookups: [EmbeddingLookup<UnsafeMutablePointer<Float>>]
) {
  for r in 0..<rows {
    let (row, out) = (x + r * inputs, y + r * outputs)
    for run in runs { (out + run.to).update(from: row + run.from, count: run.count) }
    for e in lookups {
      (out + e.offset).update(from: e.table + e.row(row[e.column]) * e.dim, count: e.dim)
    }
  }
}

/// dE (rows, D) = Σ over the batch rows whose code selects a table row of delta's columns
/// offset..<offset + D (a scatter-add; rows no code selects get 0). `lookups` name the
/// gradient tables; delta (R, O) = ∂L/∂x^0.
func embedBackward(
  delta: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int,
  lookups: [EmbeddingLookup<UnsafeMutablePointer<Float>>]
) {
  for e in lookups { e.table.update(repeating: 0, count: e.rows * e.dim) }
  for r in 0..<rows {
    let (row, d) = (x + r * inputs, delta + r * outputs)
    for e in lookups {
      let g = e.table + e.row(row[e.column]) * e.dim
      for i in 0..<e.dim { g[i] += d[e.offset + i] }
    }
  }
}

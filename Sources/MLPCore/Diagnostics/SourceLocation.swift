// A position in a user's file (spec or data), 1-based, columns counted in Unicode scalars.
// Locations order by file, then line, then column so diagnostics sort in reading order.

/// A `path:line:col` position in a spec or data file.
public struct SourceLocation: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The file as the user named it (relative paths stay relative).
  public var file: String
  /// 1-based line.
  public var line: Int
  /// 1-based column, in Unicode scalars.
  public var column: Int

  public init(file: String, line: Int, column: Int) {
    self.file = file
    self.line = line
    self.column = column
  }

  public var description: String { "\(file):\(line):\(column)" }

  public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
    (a.file, a.line, a.column) < (b.file, b.line, b.column)
  }
}

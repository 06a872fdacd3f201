// Diagnostics are plain values: every stage (parse, check, data loading) returns them and the
// command line decides how to print them and which exit code follows. Nothing here throws.

/// How serious a finding is.
public enum Severity: String, Sendable, Comparable, Codable {
  /// What mlpc decided for the user (an inferred type), for information; never a failure.
  case note
  case warning, error

  private var rank: Int {
    switch self {
    case .note: 0
    case .warning: 1
    case .error: 2
    }
  }

  public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// A secondary message attached to a diagnostic, usually at another location.
public struct DiagnosticNote: Hashable, Sendable {
  public var message: String
  public var location: SourceLocation?

  public init(_ message: String, at location: SourceLocation? = nil) {
    self.message = message
    self.location = location
  }
}

/// One finding about a spec or data file: a stable code (which fixes the severity), a message, a
/// location, notes and a hint.
///
/// Messages are lowercase, name things in single quotes and have no trailing period.
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
  /// Stable code such as `E012`; documented in `docs/diagnostics.md`.
  public var code: DiagnosticCode
  public var message: String
  public var location: SourceLocation?
  public var notes: [DiagnosticNote]
  /// A suggested fix, printed as `help:`.
  public var help: String?
  /// A count of findings not shown ("N more … not shown"): it follows the ones it counts.
  public var countsOthers = false

  public init(
    _ code: DiagnosticCode, _ message: String, at location: SourceLocation?,
    notes: [DiagnosticNote] = [], help: String? = nil
  ) {
    self.code = code
    self.message = message
    self.location = location
    self.notes = notes
    self.help = help
  }

  public var severity: Severity { code.severity }

  public var description: String {
    let place = location.map { "\($0): " } ?? ""
    return "\(place)\(severity.rawValue)[\(code.rawValue)]: \(message)"
  }
}

extension Array where Element == Diagnostic {
  /// True when any diagnostic is an error.
  public var hasErrors: Bool { contains { $0.severity == .error } }

  /// Diagnostics in reading order: by location (unlocated first), then code; counts of those
  /// not shown last.
  public func sortedByLocation() -> [Diagnostic] {
    sorted { a, b in
      if a.countsOthers != b.countsOthers { return b.countsOthers }
      switch (a.location, b.location) {
      case (nil, nil): return a.code.rawValue < b.code.rawValue
      case (nil, _): return true
      case (_, nil): return false
      case (let l?, let r?): return l == r ? a.code.rawValue < b.code.rawValue : l < r
      }
    }
  }
}

extension Diagnostic {
  /// "N more … not shown": unlocated, after everything it counts.
  static func notShown(_ code: DiagnosticCode, _ message: String) -> Diagnostic {
    var d = Diagnostic(code, message, at: nil)
    d.countsOthers = true
    return d
  }
}

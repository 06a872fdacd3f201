// A streaming CSV reader (RFC 4180: quoted fields, doubled quotes, CRLF, blank lines skipped)
// that fills Float matrices directly, so a 400 MB file never exists as strings. Every bad cell
// becomes a diagnostic at `file:line:col`.

import CMapping
import Foundation

/// Which columns to read from a CSV file and how.
public struct CSVColumns: Sendable {
  /// Column indices copied, in order, into the feature matrix.
  public var features: [Int]
  /// Column indices parsed as real-valued targets (regression).
  public var numericTargets: [Int]
  /// Column index kept as text (a class label), if any.
  public var label: Int?

  public init(features: [Int], numericTargets: [Int] = [], label: Int? = nil) {
    self.features = features
    self.numericTargets = numericTargets
    self.label = label
  }
}

/// The rows of a CSV file, as matrices.
public struct CSVContents: Sendable {
  public var features: [Float] = []
  public var targets: [Float] = []
  public var labels: [String] = []
  /// Where each label cell starts; turned into a `SourceLocation` only when reported.
  var labelCells: [CSVReader.Cursor] = []
  /// The reader the cells refer to.
  var source: CSVReader?

  /// The location of label `i` (for out-of-range label diagnostics).
  public func labelLocation(_ i: Int) -> SourceLocation? { source?.location(labelCells[i]) }
  public var rows = 0
  /// Set instead of reading when `admit` refused this many rows (at most) before allocating.
  public var refusedRows: Int?
  /// Set when the file cannot be read as CSV at all (a NUL byte, an unterminated quote).
  public var unreadable = false
}

/// Reads CSV files byte by byte from a read-only memory map, releasing pages already parsed so a
/// large file never needs its own size in memory.
// Immutable after init (a read-only mapping), so sharing it across threads is safe.
public final class CSVReader: @unchecked Sendable {
  public let path: String
  public let delimiter: UInt8
  /// The decimal point of numbers: '.', or ',' (numbers then have no '.').
  public let decimalPoint: UInt8
  let bytes: UnsafeBufferPointer<UInt8>
  /// 10^0 … 10^22, all exact doubles (a plain pointer: no lazy-global check per cell).
  let powersOfTen: UnsafeMutablePointer<Double> = {
    let p = UnsafeMutablePointer<Double>.allocate(capacity: 23)
    for k in 0...22 { p[k] = pow(10, Double(k)) }
    return p
  }()
  private let mapped: Bool
  /// The mapping's guard (CMapping): a file truncated while mapped raises a flag, not SIGBUS.
  private let guardSlot: Int32
  /// Stop collecting cell errors after this many.
  public static let errorLimit = 20
  /// Parsed pages are handed back to the kernel in steps of this many bytes.
  static let releaseStep = 4 << 20

  /// Opens `path`; nil and a diagnostic when it cannot be read.
  public init?(
    path: String, delimiter: UInt8 = UInt8(ascii: ","), decimalPoint: UInt8 = UInt8(ascii: "."),
    diagnostics: inout [Diagnostic], reference: SourceLocation?
  ) {
    self.path = path
    self.delimiter = delimiter
    self.decimalPoint = decimalPoint
    let file: RegularFile
    switch RegularFile.open(path) {
    case .failure(let problem):
      diagnostics.append(
        Diagnostic(.fileUnreadable, "data file '\(path)' \(problem.reason)", at: reference))
      return nil
    case .success(let opened): file = opened
    }
    defer { close(file.descriptor) }
    if file.size > 0 {
      guard let base = mmap(nil, file.size, PROT_READ, MAP_PRIVATE, file.descriptor, 0),
        base != MAP_FAILED
      else {
        diagnostics.append(
          Diagnostic(
            .tooLarge,
            "data file '\(path)' (\(formatBytes(Double(file.size)))) cannot be mapped into memory: \(String(cString: strerror(errno)))",
            at: reference, help: "raise the memory limit (ulimit -v) or use a smaller file"))
        return nil
      }
      bytes = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: file.size)
      mapped = true
      guardSlot = mlpc_guard_mapping(base, file.size)
      return
    }
    // Empty (or sized 0 by the kernel, as /proc files are): nothing to read.
    bytes = UnsafeBufferPointer(
      start: UnsafeMutablePointer<UInt8>.allocate(capacity: 1), count: 0)
    mapped = false
    guardSlot = -1
  }

  deinit {
    powersOfTen.deallocate()
    if mapped {
      mlpc_unguard_mapping(guardSlot)
      munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    } else {
      bytes.deallocate()
    }
  }

  /// Whether the file became shorter while it was read (what was read past its new end was
  /// zeros, not the file).
  public var changedWhileRead: Bool { mlpc_mapping_faulted(guardSlot) != 0 }

  /// True when the file is as it was mapped; else false, with a diagnostic.
  public func stillIntact(diagnostics: inout [Diagnostic]) -> Bool {
    guard changedWhileRead else { return true }
    diagnostics.append(
      Diagnostic(
        .fileUnreadable,
        "data file '\(path)' became shorter while it was read (another program changed it)",
        at: SourceLocation(file: path, line: 1, column: 1),
        help: "read a copy that nothing else writes to"))
    return false
  }

  /// The file's size in bytes.
  public var byteCount: Int { bytes.count }

  /// An upper bound on the rows of `fields` fields the file can hold: each field takes at least
  /// one byte and a delimiter or line break.
  public func maximumRows(fields: Int) -> Int { bytes.count / (2 * max(1, fields)) + 1 }

  /// Drops the mapped pages before `offset` from memory (they are re-read if touched again).
  func release(upTo offset: Int, from start: inout Int) {
    let offset = min(offset, bytes.count)
    guard mapped, offset - start >= Self.releaseStep || offset == bytes.count,
      let base = bytes.baseAddress
    else { return }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let from = (start + page - 1) / page * page  // a piece may start mid-page
    let end = offset == bytes.count ? offset : offset / page * page
    guard end > from else { return }
    madvise(UnsafeMutableRawPointer(mutating: base + from), end - from, MADV_DONTNEED)
    start = end
  }

  /// The header row's column names (empty and a diagnostic for an empty file).
  public func header(diagnostics: inout [Diagnostic]) -> [String] {
    var cursor = start()
    skipBlankLines(&cursor)
    guard cursor.offset < bytes.count else {
      diagnostics.append(
        Diagnostic(
          .emptyData, "data file '\(path)' is empty; it needs a header row", at: location(cursor)))
      return []
    }
    return readRecord(&cursor).map { text($0).trimmingCharacters(in: .whitespaces) }
  }

  /// Reads every data row (after the header), filling matrices for `columns`.
  ///
  /// The data rows are cut at line breaks into one piece per core (when the file has no quoted
  /// fields, which may hold line breaks), and the pieces are parsed at once: a first pass counts
  /// each piece's lines (its first line number, and an upper bound on its rows so every piece
  /// writes straight into one matrix), a second parses rows; the matrix is closed up afterwards
  /// wherever blank lines or bad rows left gaps. Diagnostics come out in file order either way.
  /// `admit` is asked, before any matrix is allocated, whether that many rows fit in memory.
  public func rows(
    _ columns: CSVColumns, width: Int, diagnostics: inout [Diagnostic],
    admit: (Int) -> Bool = { _ in true }
  ) -> CSVContents {
    var cursor = start()
    skipBlankLines(&cursor)
    _ = readRecord(&cursor)
    let dataStart = cursor
    let pool = WorkerPool.shared
    let wanted = bytes.count - dataStart.offset >= 1 << 20 ? pool.count : 1
    var bounds = [dataStart.offset]
    for part in 1..<wanted + 1 {
      var o = max(dataStart.offset + (bytes.count - dataStart.offset) * part / wanted, bounds.last!)
      while o < bytes.count, bytes[o - 1] != UInt8(ascii: "\n") { o += 1 }
      bounds.append(part == wanted ? bytes.count : o)
    }
    var scans = [PieceScan](repeating: PieceScan(), count: wanted)
    scans.withUnsafeMutableBufferPointer { out in
      pool.run(wanted) { part in out[part] = scan(bounds[part]..<bounds[part + 1]) }
    }
    if wanted > 1 && scans.contains(where: \.hasQuote) {
      bounds = [dataStart.offset, bytes.count]
      scans = [
        scans.reduce(PieceScan()) {
          PieceScan(
            lines: $0.lines + $1.lines, blank: $0.blank + $1.blank, hasQuote: true,
            hasNUL: $0.hasNUL || $1.hasNUL)
        }
      ]
    }
    let parts = bounds.count - 1
    // Piece p starts at line `firstLine[p]` and at row `firstRow[p]` at the latest: every row
    // but a last one without a final line break ends in a line break.
    var firstLine = [dataStart.line]
    var firstRow = [0]
    for p in 0..<parts {
      firstLine.append(firstLine[p] + scans[p].lines)
      firstRow.append(firstRow[p] + scans[p].lines - scans[p].blank)
    }
    let rowsAtMost = firstRow[parts] + 1
    var out = CSVContents()
    if scans.contains(where: \.hasNUL), let at = firstNUL() {
      diagnostics.append(
        Diagnostic(.badData, "'\(path)' holds a NUL byte; a CSV file is text", at: at))
      out.unreadable = true
      return out
    }
    if scans.contains(where: \.hasQuote), let at = unterminatedQuote(from: dataStart.offset) {
      diagnostics.append(
        Diagnostic(
          .badData, "unterminated quote: the field that starts here runs to the end of the file",
          at: at))
      out.unreadable = true
      return out
    }
    guard admit(rowsAtMost) else {
      out.refusedRows = rowsAtMost
      return out
    }
    let layout = RowLayout(columns, width: width)
    let (nf, nt) = (columns.features.count, columns.numericTargets.count)
    var pieces = [Piece](repeating: Piece(), count: parts)
    out.source = self
    out.features = [Float](unsafeUninitializedCapacity: rowsAtMost * nf) { f, featureCount in
      out.targets = [Float](unsafeUninitializedCapacity: rowsAtMost * nt) { t, targetCount in
        let (f, t) = (f.baseAddress, t.baseAddress)
        if let f { adviseHugePages(f, bytes: rowsAtMost * nf * 4) }
        pieces.withUnsafeMutableBufferPointer { results in
          pool.run(parts) { p in
            var c = p == 0 ? dataStart : Cursor(offset: bounds[p], line: firstLine[p])
            c.lineStart = p == 0 ? dataStart.lineStart : bounds[p]
            results[p] = parsePiece(
              from: c, to: bounds[p + 1], layout, features: f.map { $0 + firstRow[p] * nf },
              targets: t.map { $0 + firstRow[p] * nt })
          }
        }
        // Close the gaps: piece p's rows move down to follow the rows before them.
        var row = 0
        for p in 0..<parts {
          if row != firstRow[p], pieces[p].rows > 0 {
            if let f {
              memmove(f + row * nf, f + firstRow[p] * nf, pieces[p].rows * nf * 4)
            }
            if let t {
              memmove(t + row * nt, t + firstRow[p] * nt, pieces[p].rows * nt * 4)
            }
          }
          row += pieces[p].rows
        }
        out.rows = row
        featureCount = row * nf
        targetCount = row * nt
      }
    }
    var errors = 0
    for piece in pieces {
      errors += piece.errors
      out.labels += piece.labels
      out.labelCells += piece.labelCells
      diagnostics += piece.diagnostics.prefix(max(0, Self.errorLimit - (errors - piece.errors)))
    }
    if errors > Self.errorLimit {
      diagnostics.append(
        .notShown(
          .badData, "\(errors - Self.errorLimit) more bad cells or rows in '\(path)' not shown"))
    }
    return out
  }

  /// Asks for 2 MiB pages under a large matrix before it is first written: filling it then takes
  /// 512× fewer page faults (W1's load: about 1.07 → 0.8 s), and training, which gathers rows at
  /// random, misses the TLB less. Only whole huge pages inside the buffer are advised.
  private func adviseHugePages(_ p: UnsafeMutablePointer<Float>, bytes: Int) {
    let huge = 2 << 20
    let first = (Int(bitPattern: p) + huge - 1) / huge * huge
    let last = (Int(bitPattern: p) + bytes) / huge * huge
    if last > first {
      madvise(UnsafeMutableRawPointer(bitPattern: first), last - first, MADV_HUGEPAGE)
    }
  }

  /// Line breaks in a piece of the file, and whether it has a quote character.
  struct PieceScan {
    var lines = 0
    /// Line breaks that end an empty line (they hold no row).
    var blank = 0
    var hasQuote = false
    var hasNUL = false
  }

  private func scan(_ range: Range<Int>) -> PieceScan {
    var (lines, blank) = (0, 0)
    var flags: UInt8 = 0
    var released = range.lowerBound
    var offset = range.lowerBound
    while offset < range.upperBound {
      let end = min(range.upperBound, offset + Self.releaseStep)
      // Two branch-free loops (each vectorises; together in one loop they do not) over
      // 64 KiB blocks, so the second reads from cache.
      var block = offset
      while block < end {
        let blockEnd = min(end, block + 1 << 16)
        var count: UInt32 = 0
        for i in block..<blockEnd { count &+= UInt32(truncatingIfNeeded: bytes[i] == 10 ? 1 : 0) }
        var empty: UInt32 = 0
        for i in max(block, 1)..<blockEnd {
          empty &+= UInt32(truncatingIfNeeded: bytes[i] == 10 && bytes[i - 1] == 10 ? 1 : 0)
        }
        var seen: UInt8 = 0  // 1: a quote, 2: a NUL byte
        for i in block..<blockEnd { seen |= (bytes[i] == 34 ? 1 : 0) | (bytes[i] == 0 ? 2 : 0) }
        lines += Int(count)
        blank += Int(empty)
        flags |= seen
        block = blockEnd
      }
      offset = end
      release(upTo: offset, from: &released)
    }
    return PieceScan(lines: lines, blank: blank, hasQuote: flags & 1 != 0, hasNUL: flags & 2 != 0)
  }

  /// What parsing one piece produced.
  struct Piece {
    var rows = 0
    var errors = 0
    var labels: [String] = []
    var labelCells: [Cursor] = []
    var diagnostics: [Diagnostic] = []
  }

  /// Where each column of a row goes.
  struct RowLayout: Sendable {
    var width: Int
    var featureSlot: [Int]
    var targetSlot: [Int]
    var label: Int
    var columns: CSVColumns

    init(_ columns: CSVColumns, width: Int) {
      self.width = width
      self.columns = columns
      featureSlot = [Int](repeating: -1, count: width)
      targetSlot = [Int](repeating: -1, count: width)
      for (slot, c) in columns.features.enumerated() where c < width { featureSlot[c] = slot }
      for (slot, c) in columns.numericTargets.enumerated() where c < width { targetSlot[c] = slot }
      label = columns.label ?? -1
    }
  }

  /// Parses the rows that start in bytes[c.offset..<end] into `features` and `targets`, row by
  /// row from their start; a row that the one-pass reader does not take (quotes, spaces, long
  /// numbers, bad cells, a wrong field count) is read again field by field and reported.
  private func parsePiece(
    from start: Cursor, to end: Int, _ layout: RowLayout, features: UnsafeMutablePointer<Float>?,
    targets: UnsafeMutablePointer<Float>?
  ) -> Piece {
    var piece = Piece()
    var c = start
    var released = start.offset
    var fields: [Field] = []
    let (nf, nt) = (layout.columns.features.count, layout.columns.numericTargets.count)
    var label = Field(cursor: c, start: 0, end: 0, quoted: false)
    while true {
      release(upTo: c.offset, from: &released)
      skipBlankLines(&c)
      guard c.offset < end else { break }
      let f = features.map { $0 + piece.rows * nf }
      let t = targets.map { $0 + piece.rows * nt }
      if !fastRow(&c, layout, f, t, label: &label) {
        let rowStart = c
        readRecord(&c, into: &fields)
        if fields.count != layout.width {
          piece.errors += 1
          if piece.errors <= Self.errorLimit {
            piece.diagnostics.append(
              Diagnostic(
                .badData, "row has \(fields.count) fields but the header has \(layout.width)",
                at: location(rowStart)))
          }
          continue
        }
        for (slot, col) in layout.columns.features.enumerated() {
          f![slot] = number(fields[col], &piece.errors, &piece.diagnostics)
        }
        for (slot, col) in layout.columns.numericTargets.enumerated() {
          t![slot] = number(fields[col], &piece.errors, &piece.diagnostics)
        }
        if layout.label >= 0 { label = fields[layout.label] }
      }
      if layout.label >= 0 {
        piece.labels.append(text(label).trimmingCharacters(in: .whitespaces))
        piece.labelCells.append(label.cursor)
      }
      piece.rows += 1
    }
    return piece
  }
}

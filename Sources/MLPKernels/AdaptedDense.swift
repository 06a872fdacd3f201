// The backward pass of TabM-mini's first layer, whose members read x ⊙ r_m (the adapters r_m,
// spread by ensembleSpreadForward) through one shared W. Written out as the dense layer's
// backward over the k·R member rows and then the spread's, it takes two products of k·R rows
// (∂L/∂W and ∂L/∂(x ⊙ r_m)), the second only to reduce it to ∂L/∂r. Here one product's worth
// does both: with G_m = δ_mᵀ · x per member (O, I), ∂L/∂W = Σ_m G_m ⊙ r_m and
// ∂L/∂r_m = Σ_o G_m ⊙ W, each a pass over k·O·I values.
// R = rows in the batch, I = inputs, O = outputs, K = members; member-major buffers hold member
// m's rows at m·R..<(m + 1)·R.
// The products are abandonable (Gemm.swift): these run on the executor's arena, which is freed
// only after WorkerPool.quiesce().

import MLPThreads

#if arch(x86_64)
  import _Builtin_intrinsics.intel
#endif

/// From delta (K·R, O) = ∂L/∂z and x (R, I), the rows before the adapters: g (K, O, I) = G_m
/// (scratch), dW (O, I) = Σ_m G_m ⊙ r_m, dr (K, I) = Σ_o G_m ⊙ W, db (O) = Σ_rows delta; with dx
/// (R, I), ∂L/∂x = Σ_m (delta_m · W) ⊙ r_m = Σ_m delta_m · wm_m, wm (K, O, I) = W ⊙ r_m built in
/// its scratch (x has no activation below it). With `runs` (the forward pass's), the rows that
/// are runs take their terms and the others the products, over x with the runs' rows zeroed in
/// `u` (the forward pass's copies, free by now). Gradients are overwritten.
func adaptedDenseBackward(
  delta: UnsafePointer<Float>, x: UnsafePointer<Float>, r: UnsafePointer<Float>,
  w: UnsafePointer<Float>, dW: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>,
  dr: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>,
  wm: UnsafeMutablePointer<Float>?, dx: UnsafeMutablePointer<Float>?,
  runs: RunScratch<UnsafeMutablePointer<Float>>? = nil, u: UnsafeMutablePointer<Float>? = nil,
  rows: Int, members: Int, inputs: Int, outputs: Int
) {
  var structured = 0
  if let runs {
    for i in 0..<rows where runTerms(runs.terms, row: i, inputs: inputs) != nil {
      structured += 1
    }
  }
  var xs = x
  if let runs, let u, structured > 0, structured < rows {
    for i in 0..<rows {
      if runTerms(runs.terms, row: i, inputs: inputs) != nil {
        (u + i * inputs).update(repeating: 0, count: inputs)
      } else {
        (u + i * inputs).update(from: x + i * inputs, count: inputs)
      }
    }
    xs = UnsafePointer(u)
  }
  let products = structured < rows
  eachMember(members, work: rows * inputs * outputs) { m, threads in
    let gm = g + m * outputs * inputs
    let drm = dr + m * inputs
    drm.update(repeating: 0, count: inputs)
    if products {
      gemm(
        .tn, m: outputs, n: inputs, k: rows, delta + m * rows * outputs, lda: outputs, xs,
        ldb: inputs, gm, ldc: inputs, accumulate: false, threads: threads, abandonable: true)
      // ∂L/∂r_m = Σ_o G_m[o] ⊙ W[o].
      for o in 0..<outputs {
        multiplyAdd(gm + o * inputs, w + o * inputs, into: drm, count: inputs)
      }
    }
    if let wm {
      scaleColumns(
        w, by: r + m * inputs, into: wm + m * outputs * inputs, rows: outputs, cols: inputs)
    }
  }
  columnSums(delta, rows: members * rows, cols: outputs, into: db)
  // ∂L/∂W[o] = Σ_m G_m[o] ⊙ r_m, in whole rows per part.
  let parts = outputs * inputs * members >= 1 << 16 ? min(WorkerPool.shared.count, outputs) : 1
  let sum = { (part: Int) in
    for o in outputs * part / parts..<outputs * (part + 1) / parts {
      let row = dW + o * inputs
      row.update(repeating: 0, count: inputs)
      guard products else { continue }
      for m in 0..<members {
        multiplyAdd(g + (m * outputs + o) * inputs, r + m * inputs, into: row, count: inputs)
      }
    }
  }
  if parts > 1 { WorkerPool.shared.run(parts, sum) } else { sum(0) }
  if let runs, structured > 0 {
    adaptedRunsBackward(
      delta: delta, r: r, runs: runs, dW: dW, dr: dr, rows: rows, members: members,
      inputs: inputs, outputs: outputs)
  }
  guard let dx, let wm else { return }
  for m in 0..<members {
    gemm(
      .nn, m: rows, n: inputs, k: outputs, delta + m * rows * outputs, lda: outputs,
      wm + m * outputs * inputs, ldb: inputs, dx, ldc: inputs, accumulate: m > 0,
      abandonable: true)
  }
}

/// Runs `body(m, threads)` for every member: the members spread over the pool (each product on
/// its thread alone) when they have `work` multiply-adds each and together reach 2^20 (Gemm.swift's
/// bound for splitting a product), else one after another on this thread.
private func eachMember(
  _ members: Int, work: Int, _ body: (Int, WorkerPool?) -> Void
) {
  let pool = WorkerPool.shared
  if pool.count > 1, members > 1, work * members >= 1 << 20 {
    pool.run(members) { body($0, nil) }
  } else {
    for m in 0..<members { body(m, pool) }
  }
}

/// out (R, C) = a (R, C) with column c × s[c].
@inline(__always)
private func scaleColumns(
  _ a: UnsafePointer<Float>, by s: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
  rows: Int, cols: Int
) {
  for i in 0..<rows {
    let (ai, oi) = (a + i * cols, out + i * cols)
    var c = 0
    while c + 8 <= cols {
      UnsafeMutableRawPointer(oi + c).storeBytes(
        of: load8(ai + c) * load8(s + c), as: SIMD8<Float>.self)
      c += 8
    }
    while c < cols {
      oi[c] = ai[c] * s[c]
      c += 1
    }
  }
}

/// out += a ⊙ b, `count` values.
@inline(__always)
private func multiplyAdd(
  _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
  count: Int
) {
  var c = 0
  while c + 8 <= count {
    UnsafeMutableRawPointer(out + c).storeBytes(
      of: load8(out + c) + load8(a + c) * load8(b + c), as: SIMD8<Float>.self)
    c += 8
  }
  while c < count {
    out[c] += a[c] * b[c]
    c += 1
  }
}

// Inputs made of runs of ones and zeros (piecewise-linear bins, one-hot codes). A row of x^0 is
// then a few terms: a run of ones over columns s...e, or one value v at column s. Cut at the
// edges of blocks of columns (`RunBlocks`: where features start, or every 16 columns), a row is
// a few pieces, each inside one block: a head (from the block's first column), a tail (to its
// last), an inner run, or a value; the pieces are sorted by block once per batch. A
// piecewise-linear feature's run of ones starts at its first bin, which starts a block: one
// head. Member m's z = Σ_j x_j · r_m[j] · W[:, j] is then, block by block, a few vector
// additions per row instead of I: with the block's rows of r_m ⊙ Wᵀ summed from its
// first column (P) and from its last (S), a head at ...b adds P[b], a tail at a... S[a], an
// inner run P[b] − P[a − 1], a value v · r_m[a] · Wᵀ[a]. Backward, G_mᵀ[j] = Σ_i x_ij · δ_m[i]
// takes each head's δ at its last column summed backward through the block, each tail's at its
// first summed forward, the inner runs column by column and v · δ for the values: every sum of
// its own terms only (a difference of sums over other rows, as a difference array would take,
// leaves the columns few rows reach, a number's top bins, with errors as large as their
// gradients in single precision), within a few units in the last place of the sum of its terms'
// magnitudes, as the product's are. Each block's G_mᵀ then gives its columns of ∂L/∂r_m and of
// ∂L/∂W while it is in the first-level cache. Rows with more terms than I / 8 stay with the
// product. Which path a row takes depends on that row alone, and either path's result on that
// row alone, so a row's prediction never depends on the rows batched with it.

/// Whether a layer of `inputs` × `outputs` takes the path for runs: wide enough that terms pay,
/// and products wide enough that a row's result from the product never depends on how many
/// rows the product has (Gemm.swift takes its small path only below 2048 multiply-adds).
public func runsPay(inputs: Int, outputs: Int) -> Bool {
  inputs >= 32 && outputs >= 8 && inputs * outputs > 2048
}

/// Writes row i's terms at terms + i·I (word 0: their count, or −1 when the row has more than
/// I / 8 and stays with the product; then (first column, last column, value) each); returns how
/// many rows are runs.
func scanRuns(
  _ x: UnsafePointer<Float>, rows: Int, inputs: Int, into terms: UnsafeMutablePointer<Float>
) -> Int {
  // Rows are independent: large batches scan on the pool's threads.
  let pool = WorkerPool.shared
  let parts = rows * inputs >= 1 << 13 ? min(pool.count, rows) : 1
  return withUnsafeTemporaryAllocation(of: Int.self, capacity: parts) { counts in
    let scan = { (part: Int) in
      counts[part] = scanRows(
        x, rows: rows * part / parts..<rows * (part + 1) / parts, inputs: inputs, into: terms)
    }
    if parts > 1 { pool.run(parts, scan) } else { scan(0) }
    return counts.reduce(0, +)
  }
}

private func scanRows(
  _ x: UnsafePointer<Float>, rows: Range<Int>, inputs: Int,
  into terms: UnsafeMutablePointer<Float>
) -> Int {
  let cap = inputs / 8
  let words = (inputs + 63) / 64
  var count = 0
  // Each row's nonzero columns and its columns of ones as bits, eight compares at a time; the
  // terms are then found a word of 64 columns at a time.
  return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * words) { bits in
    let (nonzero, ones) = (bits.baseAddress!, bits.baseAddress! + words)
    for i in rows {
      let row = x + i * inputs
      bits.initialize(repeating: 0)
      var c = 0
      while c + 8 <= inputs {
        let v = UnsafeRawPointer(row + c).loadUnaligned(as: SIMD8<Float>.self)
        let shift = UInt64(c & 63)
        nonzero[c >> 6] |= UInt64(laneBits(v .!= 0)) << shift
        ones[c >> 6] |= UInt64(laneBits(v .== 1)) << shift
        c += 8
      }
      while c < inputs {
        let bit = UInt64(1) << UInt64(c & 63)
        if row[c] != 0 { nonzero[c >> 6] |= bit }
        if row[c] == 1 { ones[c >> 6] |= bit }
        c += 1
      }
      let t = UnsafeMutableRawPointer(terms + i * inputs)
      var n = 0
      var fits = true
      var j = nextBit(nonzero, from: 0, words: words, set: true)
      while j < inputs {
        // A run of ones ends before the next column that is not one.
        let e =
          ones[j >> 6] >> UInt64(j & 63) & 1 == 1
          ? min(nextBit(ones, from: j + 1, words: words, set: false), inputs) - 1 : j
        if n == cap {
          fits = false
          break
        }
        t.storeBytes(of: Int32(j), toByteOffset: 4 * (1 + 3 * n), as: Int32.self)
        t.storeBytes(of: Int32(e), toByteOffset: 4 * (2 + 3 * n), as: Int32.self)
        t.storeBytes(of: row[j], toByteOffset: 4 * (3 + 3 * n), as: Float.self)
        n += 1
        j = nextBit(nonzero, from: e + 1, words: words, set: true)
      }
      t.storeBytes(of: Int32(fits ? n : -1), as: Int32.self)
      if fits { count += 1 }
    }
    return count
  }
}

/// The first column at or after `from` whose bit is set (`set`) or clear, or 64 · words.
@inline(__always)
private func nextBit(_ bits: UnsafePointer<UInt64>, from: Int, words: Int, set: Bool) -> Int {
  var w = from >> 6
  guard w < words else { return 64 * words }
  var word = (set ? bits[w] : ~bits[w]) & (~0 << UInt64(from & 63))
  while word == 0 {
    w += 1
    if w == words { return 64 * words }
    word = set ? bits[w] : ~bits[w]
  }
  return 64 * w + word.trailingZeroBitCount
}

/// Bit k set where lane k of the mask is.
@inline(__always)
private func laneBits(_ mask: SIMDMask<SIMD8<Int32>>) -> UInt32 {
  #if arch(x86_64)
    UInt32(bitPattern: _mm256_movemask_ps(unsafeBitCast(mask, to: SIMD8<Float>.self)))
  #else
    var bits: UInt32 = 0
    for k in 0..<8 where mask[k] { bits |= 1 << UInt32(k) }
    return bits
  #endif
}

/// Row i's terms: nil when it stays with the product.
@inline(__always)
func runTerms(_ terms: UnsafePointer<Float>, row i: Int, inputs: Int)
  -> (UnsafeRawPointer, Int)?
{
  let t = UnsafeRawPointer(terms + i * inputs)
  let n = Int(t.load(as: Int32.self))
  return n < 0 ? nil : (t + 4, n)
}

@inline(__always)
func term(_ t: UnsafeRawPointer, _ k: Int) -> (first: Int, last: Int, value: Float) {
  (
    Int(t.load(fromByteOffset: 12 * k, as: Int32.self)),
    Int(t.load(fromByteOffset: 12 * k + 4, as: Int32.self)),
    t.load(fromByteOffset: 12 * k + 8, as: Float.self)
  )
}

/// The scratch of the path for runs: the rows' terms (R, I), Wᵀ (I, O), and the pieces (R, I);
/// and the blocks the rows are cut at.
public struct RunScratch<Ref> {
  public var terms: Ref
  public var transposed: Ref
  public var pieces: Ref
  public var blocks: RunBlocks
  public init(terms: Ref, transposed: Ref, pieces: Ref, blocks: RunBlocks) {
    (self.terms, self.transposed, self.pieces, self.blocks) = (terms, transposed, pieces, blocks)
  }
  public func map<T>(_ f: (Ref) -> T) -> RunScratch<T> {
    RunScratch<T>(terms: f(terms), transposed: f(transposed), pieces: f(pieces), blocks: blocks)
  }
}

extension RunScratch: Sendable where Ref: Sendable {}

/// The blocks of columns the path for runs cuts rows at. Without the features' layout, every 16
/// columns. Given where each feature starts in x^0, a block starts at a feature's first column
/// whenever the block before it has 8 columns or more, and holds at most 64: a piecewise-linear
/// feature's run of ones, which starts at its first bin, is then one head (up to 64 bins), and
/// a row crosses at most I / 8 block edges, so its pieces fit the scratch (`sortPieces`).
public struct RunBlocks: Sendable, Equatable {
  /// Each block's first column, then n^0.
  public let starts: [Int]
  /// Each column's block.
  let blockOf: [Int32]
  /// The widest block's columns.
  let widest: Int

  /// The blocks of `inputs` columns, cut where features start when `featureStarts` is given.
  public init(inputs: Int, featureStarts: [Int] = []) {
    precondition(inputs >= 1)
    var starts = [0]
    if featureStarts.isEmpty {
      while starts.last! + 16 < inputs { starts.append(starts.last! + 16) }
    } else {
      let cuts = featureStarts.filter { $0 > 0 && $0 < inputs }.sorted()
      var (s, k) = (0, 0)
      while true {
        while k < cuts.count && cuts[k] < s + 8 { k += 1 }
        let e = min(k < cuts.count ? cuts[k] : inputs, s + 64)
        if e >= inputs { break }
        starts.append(e)
        s = e
      }
    }
    starts.append(inputs)
    self.starts = starts
    var blockOf = [Int32](repeating: 0, count: inputs)
    var widest = 0
    for b in 0..<starts.count - 1 {
      for j in starts[b]..<starts[b + 1] { blockOf[j] = Int32(b) }
      widest = max(widest, starts[b + 1] - starts[b])
    }
    (self.blockOf, self.widest) = (blockOf, widest)
  }

  /// How many blocks.
  public var count: Int { starts.count - 1 }
}

/// A piece of a row inside one block: a head (columns from the block's first to b), a tail
/// (from a to the block's last), an inner run (a...b), or a value v at a.
private enum PieceKind: Int { case head, tail, inner, value }

/// The first key of the pieces of `kind` in the block of `width` columns from `start`: a block
/// takes the 4 · width keys from 4 · start, one per kind and column (b for a head, a for the
/// others), so there are 4 · I keys and a block's pieces of one kind are together.
@inline(__always)
private func pieceKey(start: Int, width: Int, _ kind: PieceKind) -> Int {
  4 * start + kind.rawValue * width
}

/// Rows of I words the pieces of `rows` rows need: the keys' offsets, the sorted pieces, and
/// each row's list of its own (`listRowPieces`).
public func runPiecesRows(_ rows: Int) -> Int { 2 * rows + 8 }

/// The pieces of the rows of runs, sorted by key (so that the loops over them take no
/// unpredictable branches, and a column's pieces are together): words 0...4·I of `pieces` hold
/// where each key's pieces start, the pieces follow, 3 words each (row, a, b or the value's
/// bits). A row has at most I / 8 terms and crosses at most I / 8 block edges, so its pieces
/// take at most 3·I / 4 + 3 words; with each row's list (2 words a piece) they fit in
/// `runPiecesRows(R)` · I words.
private func sortPieces(
  terms: UnsafePointer<Float>, rows: Int, inputs: Int, blocks: RunBlocks,
  into pieces: UnsafeMutablePointer<Float>
) {
  let keys = 4 * inputs
  let capacity = runPiecesRows(rows) * inputs
  let words = UnsafeMutableRawPointer(pieces).bindMemory(to: Int32.self, capacity: capacity)
  let base = keys + 1
  blocks.starts.withUnsafeBufferPointer { starts in
    blocks.blockOf.withUnsafeBufferPointer { blockOf in
      @inline(__always) func each(_ visit: (Int, Int, Int, Int32) -> Void) {
        for i in 0..<rows {
          guard let (t, n) = runTerms(terms, row: i, inputs: inputs) else { continue }
          for k in 0..<n {
            let (first, last, v) = term(t, k)
            if first == last {
              let block = Int(blockOf[first])
              let (start, next) = (starts[block], starts[block + 1])
              visit(
                pieceKey(start: start, width: next - start, .value) + first - start, i, first,
                Int32(bitPattern: v.bitPattern))
              continue
            }
            var a = first
            while a <= last {
              let block = Int(blockOf[a])
              let (start, next) = (starts[block], starts[block + 1])
              let end = next - 1
              let b = min(end, last)
              let kind: PieceKind = a == start ? .head : b == end ? .tail : .inner
              visit(
                pieceKey(start: start, width: next - start, kind) + (kind == .head ? b : a) - start,
                i, a, Int32(b))
              a = next
            }
          }
        }
      }
      // Counts, their running sums, then the pieces in place.
      words.update(repeating: 0, count: base)
      var total = 0
      each { key, _, _, _ in
        words[key + 1] += 1
        total += 1
      }
      precondition(base + 3 * total <= capacity, "pieces of runs: scratch too small")
      for key in 0..<keys { words[key + 1] += words[key] }
      withUnsafeTemporaryAllocation(of: Int32.self, capacity: keys) { next in
        for key in 0..<keys { next[key] = words[key] }
        each { key, i, a, b in
          let at = base + 3 * Int(next[key])
          next[key] += 1
          words[at] = Int32(i)
          words[at + 1] = Int32(a)
          words[at + 2] = b
        }
      }
    }
  }
  listRowPieces(words, rows: rows, inputs: inputs, blocks: blocks)
}

/// After the sorted pieces, each row's own in key order (so a row's sum takes its pieces in an
/// order of its own, whatever the other rows): R + 1 words where each row's list starts, then
/// 2 words a piece: a << 2 | kind, and b or the value's bits.
private func listRowPieces(
  _ words: UnsafeMutablePointer<Int32>, rows: Int, inputs: Int, blocks: RunBlocks
) {
  let keys = 4 * inputs
  let base = keys + 1
  let total = Int(words[keys])
  let (starts, list) = (words + base + 3 * total, words + base + 3 * total + rows + 1)
  precondition(
    base + 5 * total + rows + 1 <= runPiecesRows(rows) * inputs,
    "pieces of runs: scratch too small")
  starts.update(repeating: 0, count: rows + 1)
  for p in 0..<total { starts[Int(words[base + 3 * p]) + 1] += 1 }
  for i in 0..<rows { starts[i + 1] += starts[i] }
  withUnsafeTemporaryAllocation(of: Int32.self, capacity: rows) { next in
    for i in 0..<rows { next[i] = starts[i] }
    for block in 0..<blocks.count {
      let start = blocks.starts[block]
      let width = blocks.starts[block + 1] - start
      for raw in 0..<4 {
        let kind = PieceKind(rawValue: raw)!
        let first = pieceKey(start: start, width: width, kind)
        for p in Int(words[first])..<Int(words[first + width]) {
          let at = base + 3 * p
          let i = Int(words[at])
          let e = list + 2 * Int(next[i])
          next[i] += 1
          e[0] = words[at + 1] << 2 | Int32(kind.rawValue)
          e[1] = words[at + 2]
        }
      }
    }
  }
}

/// Row i's pieces as `listRowPieces` wrote them, and how many.
@inline(__always)
private func rowPieces(_ pieces: UnsafePointer<Float>, row i: Int, rows: Int, inputs: Int)
  -> (UnsafePointer<Int32>, Int)
{
  let words = UnsafeRawPointer(pieces).assumingMemoryBound(to: Int32.self)
  let keys = 4 * inputs
  let starts = words + keys + 1 + 3 * Int(words[keys])
  let (from, to) = (Int(starts[i]), Int(starts[i + 1]))
  return (starts + rows + 1 + 2 * from, to - from)
}

/// A row's sum over its pieces, a few outputs at a time, in registers: a head at ...b adds P[b],
/// a tail at a... S[a], an inner run P[b] − P[a − 1], a value v · r_m[a] · Wᵀ[a].
private struct RowSums {
  let p: UnsafePointer<Float>
  let s: UnsafePointer<Float>
  let wt: UnsafePointer<Float>
  let rm: UnsafePointer<Float>
  let stride: Int

  @inline(__always)
  func sum<V: Lanes>(
    _: V.Type, _ list: UnsafePointer<Int32>, _ count: Int, column c: Int
  ) -> V {
    var sum = V.zero
    for e in 0..<count {
      let word = Int(list[2 * e])
      let (a, other) = (word >> 2, list[2 * e + 1])
      switch word & 3 {
      case PieceKind.head.rawValue:
        sum = sum + load(p + Int(other) * stride + c)
      case PieceKind.tail.rawValue:
        sum = sum + load(s + a * stride + c)
      case PieceKind.inner.rawValue:
        sum = sum + ((load(p + Int(other) * stride + c) as V) - load(p + (a - 1) * stride + c))
      default:
        let v = Float(bitPattern: UInt32(bitPattern: other))
        sum = sum + (load(wt + a * stride + c) as V) * (v * rm[a])
      }
    }
    return sum
  }
}

/// The pieces with keys from..<to: visit(row, a, b, value) for each, in key and then row order;
/// `inputs` places the pieces after the 4·I + 1 words of the keys.
@inline(__always)
private func eachPiece(
  _ pieces: UnsafePointer<Float>, keys from: Int, _ to: Int, inputs: Int,
  _ visit: (Int, Int, Int, Float) -> Void
) {
  let words = UnsafeRawPointer(pieces).assumingMemoryBound(to: Int32.self)
  let base = 4 * inputs + 1
  for p in Int(words[from])..<Int(words[to]) {
    let at = base + 3 * p
    let b = words[at + 2]
    visit(Int(words[at]), Int(words[at + 1]), Int(b), Float(bitPattern: UInt32(bitPattern: b)))
  }
}

/// The pieces of one kind in the block of `width` columns from `start`.
@inline(__always)
private func eachPiece(
  _ pieces: UnsafePointer<Float>, start: Int, width: Int, _ kind: PieceKind, inputs: Int,
  _ visit: (Int, Int, Int, Float) -> Void
) {
  let first = pieceKey(start: start, width: width, kind)
  eachPiece(pieces, keys: first, first + width, inputs: inputs, visit)
}

/// Whether the block of `width` columns from `start` has pieces of `kind`.
@inline(__always)
private func hasPieces(
  _ pieces: UnsafePointer<Float>, start: Int, width: Int, _ kind: PieceKind
) -> Bool {
  let words = UnsafeRawPointer(pieces).assumingMemoryBound(to: Int32.self)
  let first = pieceKey(start: start, width: width, kind)
  return words[first + width] > words[first]
}

/// TabM-mini's layer 1 forward: y (K·R, O) member-major = σ((x ⊙ r_m) · Wᵀ + b), z kept when
/// given. Rows that are runs take their pieces; the others are spread into u (K·R, I) as
/// x ⊙ r_m (the runs' rows zero, so the product leaves theirs zero) and multiplied by W in one
/// product of K·R rows.
func adaptedDenseForward(
  x: UnsafePointer<Float>, r: UnsafePointer<Float>, w: UnsafePointer<Float>,
  b: UnsafePointer<Float>, u: UnsafeMutablePointer<Float>,
  runs: RunScratch<UnsafeMutablePointer<Float>>,
  y: UnsafeMutablePointer<Float>, z: UnsafeMutablePointer<Float>?, rows: Int, members: Int,
  inputs: Int, outputs: Int, _ activation: Activation, parameter: Float
) {
  let (I, O) = (inputs, outputs)
  let structured = scanRuns(x, rows: rows, inputs: I, into: runs.terms)
  if structured < rows {
    for m in 0..<members {
      let rm = r + m * I
      for i in 0..<rows {
        let out = u + (m * rows + i) * I
        if runTerms(runs.terms, row: i, inputs: I) != nil {
          out.update(repeating: 0, count: I)
        } else {
          scaleColumns(x + i * I, by: rm, into: out, rows: 1, cols: I)
        }
      }
    }
    gemm(
      .nt, m: members * rows, n: O, k: I, u, lda: I, w, ldb: I, y, ldc: O, accumulate: false,
      abandonable: true)
  }
  if structured > 0 {
    // The pieces' sort and Wᵀ are independent: one on each of two threads when there are two.
    WorkerPool.shared.run(2) { part in
      if part == 0 {
        sortPieces(
          terms: runs.terms, rows: rows, inputs: I, blocks: runs.blocks, into: runs.pieces)
      } else {
        transpose(w, rows: O, cols: I, into: runs.transposed)
      }
    }
    let (wt, pieces) = (UnsafePointer(runs.transposed), UnsafePointer(runs.pieces))
    let starts = runs.blocks.starts
    eachMember(members, work: rows * I * O / 8) { m, _ in
      let rm = r + m * I
      let ym = y + m * rows * O
      // P and S over each block's rows of r_m ⊙ Wᵀ, where pieces read them, for all the blocks
      // at once; then each row's sum in registers, its pieces in the sorted pieces' order.
      let p = GemmWorkspace.current.scratch(2 * I * O)
      let s = p + I * O
      for block in 0..<starts.count - 1 {
        let start = starts[block]
        let width = starts[block + 1] - start
        let w0 = wt + start * O
        if hasPieces(pieces, start: start, width: width, .head)
          || hasPieces(pieces, start: start, width: width, .inner)
        {
          runningSums(
            w0, scales: rm + start, into: p + start * O, rows: width, count: O, backward: false)
        }
        if hasPieces(pieces, start: start, width: width, .tail) {
          runningSums(
            w0, scales: rm + start, into: s + start * O, rows: width, count: O, backward: true)
        }
      }
      let sums = RowSums(p: p, s: s, wt: wt, rm: rm, stride: O)
      for i in 0..<rows where runTerms(runs.terms, row: i, inputs: I) != nil {
        let (list, count) = rowPieces(pieces, row: i, rows: rows, inputs: I)
        let out = ym + i * O
        // Each row's sum from zero, as the product leaves the rows of runs.
        var c = 0
        while c + 64 <= O {
          store(sums.sum(Lanes64.self, list, count, column: c), out + c)
          c += 64
        }
        while c + 32 <= O {
          store(sums.sum(Lanes32.self, list, count, column: c), out + c)
          c += 32
        }
        while c + 8 <= O {
          store(sums.sum(SIMD8<Float>.self, list, count, column: c), out + c)
          c += 8
        }
        while c < O {
          out[c] = sums.sum(Float.self, list, count, column: c)
          c += 1
        }
      }
    }
  }
  biasActivationForward(
    y, bias: b, preActivation: z, rows: members * rows, cols: O, activation,
    parameter: parameter)
}

/// The runs' rows' share of layer 1's backward, after `adaptedDenseBackward` has taken the
/// other rows' (or zeroed dW and dr when there are none), from the forward pass's pieces and Wᵀ:
/// block by block (the blocks spread over the pool), each member's G_mᵀ over the block, then
/// dr_m += Σ_o G_m ⊙ W and dW += Σ_m G_m ⊙ r_m over its columns.
func adaptedRunsBackward(
  delta: UnsafePointer<Float>, r: UnsafePointer<Float>,
  runs: RunScratch<UnsafeMutablePointer<Float>>,
  dW: UnsafeMutablePointer<Float>, dr: UnsafeMutablePointer<Float>, rows: Int, members: Int,
  inputs: Int, outputs: Int
) {
  let (I, O) = (inputs, outputs)
  let (wt, pieces) = (UnsafePointer(runs.transposed), UnsafePointer(runs.pieces))
  let starts = runs.blocks.starts
  let (blocks, widest) = (starts.count - 1, runs.blocks.widest)
  // Blocks hold different numbers of pieces (a number's bins, one-hot codes), so a few parts
  // per thread, claimed as threads come free, share the work out evenly.
  let parts = rows * I * O * members >= 1 << 20 ? min(4 * WorkerPool.shared.count, blocks) : 1
  let work = { (part: Int) in
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * widest * O) { buffer in
      // g: G_mᵀ over the block; sum: Σ_m r_m ⊙ G_mᵀ.
      let (g, sum) = (buffer.baseAddress!, buffer.baseAddress! + widest * O)
      for block in blocks * part / parts..<blocks * (part + 1) / parts {
        let start = starts[block]
        let width = starts[block + 1] - start
        sum.update(repeating: 0, count: width * O)
        for m in 0..<members {
          let dm = delta + m * rows * O
          // The heads, tails and values 32 outputs at a time in registers, then the rest.
          var c = 0
          while c + 32 <= O {
            blockGradient(
              Lanes32.self, dm + c, g + c, stride: O, pieces: pieces, start: start, width: width,
              inputs: I)
            c += 32
          }
          while c + 8 <= O {
            blockGradient(
              SIMD8<Float>.self, dm + c, g + c, stride: O, pieces: pieces, start: start,
              width: width, inputs: I)
            c += 8
          }
          while c < O {
            blockGradient(
              Float.self, dm + c, g + c, stride: O, pieces: pieces, start: start, width: width,
              inputs: I)
            c += 1
          }
          eachPiece(pieces, start: start, width: width, .inner, inputs: I) { i, a, b, _ in
            for j in a...b { addRow(dm + i * O, into: g + (j - start) * O, count: O) }
          }
          let (rm, drm) = (r + m * I + start, dr + m * I + start)
          for j in 0..<width {
            drm[j] += dot(g + j * O, wt + (start + j) * O, count: O)
            scaleAddRow(g + j * O, by: rm[j], into: sum + j * O, count: O)
          }
        }
        for o in 0..<O {
          let row = dW + o * I + start
          for j in 0..<width { row[j] += sum[j * O + o] }
        }
      }
    }
  }
  if parts > 1 { WorkerPool.shared.run(parts, work) } else { work(0) }
}

/// A few outputs' lanes: one Float, or a SIMD vector of them.
private protocol Lanes {
  static var zero: Self { get }
  static func + (a: Self, b: Self) -> Self
  static func - (a: Self, b: Self) -> Self
  static func * (a: Self, b: Float) -> Self
}

extension Float: Lanes {}
extension SIMD8: Lanes where Scalar == Float {}

@inline(__always)
private func load<V: Lanes>(_ p: UnsafePointer<Float>) -> V {
  UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

@inline(__always)
private func store<V: Lanes>(_ v: V, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
}

/// One block's G_mᵀ (`width` rows at g, `stride` apart) over V's lanes of the outputs, from the
/// heads (their δ rows, at dm + row · stride, summed from the block's last column back), the
/// tails (summed from its first forward) and the values; the inner runs are the caller's. The
/// sums stay in registers (no closures: a captured sum would live in memory).
@inline(__always)
private func blockGradient<V: Lanes>(
  _: V.Type, _ dm: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, stride: Int,
  pieces: UnsafePointer<Float>, start: Int, width: Int, inputs: Int
) {
  let words = UnsafeRawPointer(pieces).assumingMemoryBound(to: Int32.self)
  let base = 4 * inputs + 1
  let (heads, tails, values) = (
    pieceKey(start: start, width: width, .head), pieceKey(start: start, width: width, .tail),
    pieceKey(start: start, width: width, .value)
  )
  var sum = V.zero
  for j in Swift.stride(from: width - 1, through: 0, by: -1) {
    for p in Int(words[heads + j])..<Int(words[heads + j + 1]) {
      sum = sum + load(dm + Int(words[base + 3 * p]) * stride)
    }
    store(sum, g + j * stride)
  }
  sum = V.zero
  for j in 0..<width {
    for p in Int(words[tails + j])..<Int(words[tails + j + 1]) {
      sum = sum + load(dm + Int(words[base + 3 * p]) * stride)
    }
    var column: V = load(g + j * stride) + sum
    for p in Int(words[values + j])..<Int(words[values + j + 1]) {
      let v = Float(bitPattern: UInt32(bitPattern: words[base + 3 * p + 2]))
      column = column + (load(dm + Int(words[base + 3 * p]) * stride) as V) * v
    }
    store(column, g + j * stride)
  }
}

/// 32 lanes as four vectors of 8.
private struct Lanes32: Lanes {
  var a: SIMD8<Float>
  var b: SIMD8<Float>
  var c: SIMD8<Float>
  var d: SIMD8<Float>
  static var zero: Lanes32 { Lanes32(a: .zero, b: .zero, c: .zero, d: .zero) }
  @inline(__always) static func + (x: Lanes32, y: Lanes32) -> Lanes32 {
    Lanes32(a: x.a + y.a, b: x.b + y.b, c: x.c + y.c, d: x.d + y.d)
  }
  @inline(__always) static func - (x: Lanes32, y: Lanes32) -> Lanes32 {
    Lanes32(a: x.a - y.a, b: x.b - y.b, c: x.c - y.c, d: x.d - y.d)
  }
  @inline(__always) static func * (x: Lanes32, f: Float) -> Lanes32 {
    Lanes32(a: x.a * f, b: x.b * f, c: x.c * f, d: x.d * f)
  }
}

/// 64 lanes as two of 32.
private struct Lanes64: Lanes {
  var low: Lanes32
  var high: Lanes32
  static var zero: Lanes64 { Lanes64(low: .zero, high: .zero) }
  @inline(__always) static func + (x: Lanes64, y: Lanes64) -> Lanes64 {
    Lanes64(low: x.low + y.low, high: x.high + y.high)
  }
  @inline(__always) static func - (x: Lanes64, y: Lanes64) -> Lanes64 {
    Lanes64(low: x.low - y.low, high: x.high - y.high)
  }
  @inline(__always) static func * (x: Lanes64, f: Float) -> Lanes64 {
    Lanes64(low: x.low * f, high: x.high * f)
  }
}

/// out[j] (`rows` rows of `count`) = Σ of a[j'] · scales[j'] for j' from row 0
/// to j (from the last row back to j when `backward`), the running sums held in registers 32
/// values at a time; out may be a.
@inline(__always)
private func runningSums(
  _ a: UnsafePointer<Float>, scales: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
  rows: Int, count: Int, backward: Bool
) {
  typealias V = SIMD8<Float>
  @inline(__always) func row(_ k: Int) -> Int { backward ? rows - 1 - k : k }
  var c = 0
  while c + 32 <= count {
    var (s0, s1, s2, s3) = (V(), V(), V(), V())
    for k in 0..<rows {
      let j = row(k)
      let (q, o) = (a + j * count + c, UnsafeMutableRawPointer(out + j * count + c))
      let f = scales[j]
      s0 += load8(q) * f
      s1 += load8(q + 8) * f
      s2 += load8(q + 16) * f
      s3 += load8(q + 24) * f
      o.storeBytes(of: s0, as: V.self)
      o.storeBytes(of: s1, toByteOffset: 32, as: V.self)
      o.storeBytes(of: s2, toByteOffset: 64, as: V.self)
      o.storeBytes(of: s3, toByteOffset: 96, as: V.self)
    }
    c += 32
  }
  while c < count {
    var s: Float = 0
    for k in 0..<rows {
      let j = row(k)
      s += a[j * count + c] * scales[j]
      out[j * count + c] = s
    }
    c += 1
  }
}

/// out += a, `count` values.
@inline(__always)
private func addRow(
  _ a: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int
) {
  var c = 0
  while c + 32 <= count {
    let o = UnsafeMutableRawPointer(out + c)
    let (x0, x1) = (load8(out + c) + load8(a + c), load8(out + c + 8) + load8(a + c + 8))
    let (x2, x3) = (
      load8(out + c + 16) + load8(a + c + 16), load8(out + c + 24) + load8(a + c + 24)
    )
    o.storeBytes(of: x0, as: SIMD8<Float>.self)
    o.storeBytes(of: x1, toByteOffset: 32, as: SIMD8<Float>.self)
    o.storeBytes(of: x2, toByteOffset: 64, as: SIMD8<Float>.self)
    o.storeBytes(of: x3, toByteOffset: 96, as: SIMD8<Float>.self)
    c += 32
  }
  while c + 8 <= count {
    UnsafeMutableRawPointer(out + c).storeBytes(
      of: load8(out + c) + load8(a + c), as: SIMD8<Float>.self)
    c += 8
  }
  while c < count {
    out[c] += a[c]
    c += 1
  }
}

/// out += a · f, `count` values.
@inline(__always)
private func scaleAddRow(
  _ a: UnsafePointer<Float>, by f: Float, into out: UnsafeMutablePointer<Float>, count: Int
) {
  var c = 0
  while c + 32 <= count {
    let o = UnsafeMutableRawPointer(out + c)
    let (x0, x1) = (load8(out + c) + load8(a + c) * f, load8(out + c + 8) + load8(a + c + 8) * f)
    let (x2, x3) = (
      load8(out + c + 16) + load8(a + c + 16) * f, load8(out + c + 24) + load8(a + c + 24) * f
    )
    o.storeBytes(of: x0, as: SIMD8<Float>.self)
    o.storeBytes(of: x1, toByteOffset: 32, as: SIMD8<Float>.self)
    o.storeBytes(of: x2, toByteOffset: 64, as: SIMD8<Float>.self)
    o.storeBytes(of: x3, toByteOffset: 96, as: SIMD8<Float>.self)
    c += 32
  }
  while c + 8 <= count {
    UnsafeMutableRawPointer(out + c).storeBytes(
      of: load8(out + c) + load8(a + c) * f, as: SIMD8<Float>.self)
    c += 8
  }
  while c < count {
    out[c] += a[c] * f
    c += 1
  }
}

/// out (C, R) = a (R, C)ᵀ, in 8 × 8 tiles.
private func transpose(
  _ a: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>
) {
  var i = 0
  while i < rows {
    let ie = min(i + 8, rows)
    var j = 0
    while j < cols {
      let je = min(j + 8, cols)
      for ii in i..<ie {
        for jj in j..<je { out[jj * rows + ii] = a[ii * cols + jj] }
      }
      j = je
    }
    i = ie
  }
}

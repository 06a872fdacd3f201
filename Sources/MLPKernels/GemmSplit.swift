// A product split over column ranges of C as an abandonable job of the worker pool (see
// MLPThreads' AbandonableJob.swift): each part computes whole NR tiles of C, into C or into a
// helper's scratch, and the job travels to helpers as plain words.

import MLPKernelsGeneric
@_exported import MLPThreads

/// One product's split over column ranges of C, as plain values.
struct SplitGemm {
  var operands: GemmOperands
  var m: Int
  var n: Int
  var k: Int
  var nr: Int
  var parts: Int
  var kernel: BlockedKernel

  /// The columns of C part `part` computes: whole NR tiles, spread evenly.
  func columns(_ part: Int) -> Range<Int> {
    let tiles = (n + nr - 1) / nr
    return tiles * part / parts * nr..<min(n, tiles * (part + 1) / parts * nr)
  }

  /// Computes part `part` into C, or into `scratch` (M rows of the part's width) without
  /// reading C.
  func run(_ part: Int, into scratch: UnsafeMutablePointer<Float>?) {
    let columns = columns(part)
    var o = operands
    if let scratch {
      o = GemmOperands(
        a: o.a, aRow: o.aRow, aCol: o.aCol, b: o.b, bRow: o.bRow, bCol: o.bCol,
        c: scratch - columns.lowerBound, ldc: columns.count, accumulate: false)
    }
    kernel(o, m, columns, k, GemmWorkspace.current.buffers)
  }

  /// Writes (or adds, when accumulating) a part computed into scratch to C.
  func publish(_ part: Int, from scratch: UnsafePointer<Float>) {
    let columns = columns(part)
    let width = columns.count
    for i in 0..<m {
      let (source, target) = (
        scratch + i * width, operands.c + i * operands.ldc + columns.lowerBound
      )
      if operands.accumulate {
        for j in 0..<width { target[j] += source[j] }
      } else {
        target.update(from: source, count: width)
      }
    }
  }

  /// Floats of scratch part `part` needs.
  func scratchCount(_ part: Int) -> Int { m * columns(part).count }
}

extension SplitGemm: AbandonableJob {
  var work: Double { Double(m) * Double(n) * Double(k) }

  var words: JobWords {
    let o = operands
    var w = JobWords(repeating: 0)
    (w[0], w[1], w[2]) = (Int(bitPattern: o.a), o.aRow, o.aCol)
    (w[3], w[4], w[5]) = (Int(bitPattern: o.b), o.bRow, o.bCol)
    (w[6], w[7], w[8]) = (Int(bitPattern: o.c), o.ldc, o.accumulate ? 1 : 0)
    (w[9], w[10], w[11], w[12], w[13]) = (m, n, k, nr, parts)
    w[14] = kernel.rawValue
    return w
  }

  init?(words w: JobWords) {
    guard let a = UnsafePointer<Float>(bitPattern: w[0]),
      let b = UnsafePointer<Float>(bitPattern: w[3]),
      let c = UnsafeMutablePointer<Float>(bitPattern: w[6]),
      let kernel = BlockedKernel(rawValue: w[14]), w[12] > 0, w[13] > 0
    else { return nil }
    self.init(
      operands: GemmOperands(
        a: a, aRow: w[1], aCol: w[2], b: b, bRow: w[4], bCol: w[5], c: c, ldc: w[7],
        accumulate: w[8] != 0),
      m: w[9], n: w[10], k: w[11], nr: w[12], parts: w[13], kernel: kernel)
  }
}

extension WorkerPool {
  /// One thread per core (the caller counts as one), or `MLPC_THREADS` of them.
  public static let shared = WorkerPool(threads: configuredThreads)

  /// A pool of `threads` threads for the kernels: its abandonable jobs are split products and
  /// each helper allocates its packing buffers when it starts.
  public convenience init(threads: Int) {
    self.init(threads: threads, jobs: SplitGemm.self, onThreadStart: { prepareGemmWorkspace() })
  }
}

// TabM-mini's layer-1 backward from per-member products, against the computation it replaces
// written out naively in double precision: each member's copy of the batch scaled by its
// adapter, u_m = x ⊙ r_m, through one shared W; ∂L/∂W, ∂L/∂b, ∂L/∂r and ∂L/∂x from those
// copies. Sizes below and above the pool's threshold (the members spread over threads).

import MLPCore
import Testing

@testable import MLPKernels

@Suite struct AdaptedDenseTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var rows: Int
    var members: Int
    var inputs: Int
    var outputs: Int
    var testDescription: String { "R \(rows), K \(members), \(inputs) → \(outputs)" }
  }

  static let cases = [
    Case(rows: 3, members: 2, inputs: 5, outputs: 4),
    Case(rows: 7, members: 3, inputs: 33, outputs: 17),
    // 64·64·64 multiply-adds for each of 8 members: the members run on the pool's threads.
    Case(rows: 64, members: 8, inputs: 64, outputs: 64),
    Case(rows: 50, members: 8, inputs: 253, outputs: 64),
  ]

  @Test(arguments: cases)
  func backwardMatchesTheScaledCopiesItReplaces(_ c: Case) {
    let (R, K, I, O) = (c.rows, c.members, c.inputs, c.outputs)
    var rng = SeededGenerator(seed: UInt64(R * 7919 + K * 104_729 + I * 31 + O))
    let draw = { (n: Int) in (0..<n).map { _ in Float(rng.uniform(-1, 1)) } }
    let (x, r, w) = (draw(R * I), draw(K * I), draw(O * I))
    let delta = draw(K * R * O)
    // The reference, in double precision.
    var dW = [Double](repeating: 0, count: O * I)
    var dr = [Double](repeating: 0, count: K * I)
    var dx = [Double](repeating: 0, count: R * I)
    var db = [Double](repeating: 0, count: O)
    for m in 0..<K {
      for i in 0..<R {
        for o in 0..<O {
          let d = Double(delta[(m * R + i) * O + o])
          db[o] += d
          for j in 0..<I {
            let u = Double(x[i * I + j]) * Double(r[m * I + j])
            dW[o * I + j] += d * u
            // ∂L/∂u_{m,i,j} = Σ_o d·W[o, j]; then through u = x ⊙ r_m.
            let du = d * Double(w[o * I + j])
            dr[m * I + j] += du * Double(x[i * I + j])
            dx[i * I + j] += du * Double(r[m * I + j])
          }
        }
      }
    }
    // Ours, with and without ∂L/∂x.
    var wm = [Float](repeating: .nan, count: K * O * I)
    var g = [Float](repeating: .nan, count: K * O * I)
    var (dWs, dbs, drs, dxs) = (
      [Float](repeating: .nan, count: O * I), [Float](repeating: .nan, count: O),
      [Float](repeating: .nan, count: K * I), [Float](repeating: .nan, count: R * I)
    )
    adaptedDenseBackward(
      delta: delta, x: x, r: r, w: w, dW: &dWs, db: &dbs, dr: &drs, g: &g, wm: &wm, dx: &dxs,
      rows: R, members: K, inputs: I, outputs: O)
    let tolerance = { (reference: Double, depth: Int) in
      1e-5 * Double(depth) + 1e-5 * abs(reference)
    }
    for (name, ours, reference, depth) in [
      ("dW", dWs, dW, K * R), ("db", dbs, db, K * R), ("dr", drs, dr, R * O),
      ("dx", dxs, dx, K * O),
    ] {
      for j in reference.indices {
        #expect(
          abs(Double(ours[j]) - reference[j]) <= tolerance(reference[j], depth),
          "\(name)[\(j)]: \(ours[j]) against \(reference[j])")
      }
    }
    // Without ∂L/∂x (nothing below x^0 learns) the gradients are the same.
    var (dW2, db2, dr2) = (
      [Float](repeating: .nan, count: O * I), [Float](repeating: .nan, count: O),
      [Float](repeating: .nan, count: K * I)
    )
    adaptedDenseBackward(
      delta: delta, x: x, r: r, w: w, dW: &dW2, db: &db2, dr: &dr2, g: &g, wm: nil, dx: nil,
      rows: R, members: K, inputs: I, outputs: O)
    #expect(dW2 == dWs && db2 == dbs && dr2 == drs)
  }
}

/// Layer 1 over rows that are runs of ones and zeros (piecewise-linear bins, one-hot codes), with
/// rows that are not mixed in: forward and backward against the naive double-precision
/// computation, and each row's output the same bits whatever it is batched with.
@Suite struct AdaptedRunsTests {
  /// Rows of `groups` piecewise-linear groups of `bins` (ones, a fraction, zeros; below the
  /// first edge a negative first value, above the last a last value over 1), then a one-hot
  /// group; every `denseEvery`-th row of random values instead (0: none).
  static func rows(
    _ n: Int, groups: Int, bins: Int, codes: Int, denseEvery: Int, rng: inout SeededGenerator
  ) -> [Float] {
    let width = groups * bins + codes
    var x = [Float](repeating: 0, count: n * width)
    for i in 0..<n {
      let row = i * width
      if denseEvery > 0 && i % denseEvery == denseEvery - 1 {
        for j in 0..<width { x[row + j] = Float(rng.uniform(-2, 2)) }
        continue
      }
      for g in 0..<groups {
        let at = row + g * bins
        let t = Int(rng.uniform(0, Double(bins)))
        for j in 0..<t { x[at + j] = 1 }
        switch (g + i) % 5 {
        case 0 where t == 0: x[at] = Float(rng.uniform(-1, 0))  // below the first edge
        case 1:
          x[at + bins - 1] = 1
          for j in 0..<bins { x[at + j] = 1 }
          x[at + bins - 1] = 1.5
        default: x[at + t] = Float(rng.uniform(0, 1))
        }
      }
      x[row + groups * bins + Int(rng.uniform(0, Double(codes)))] = 1
    }
    return x
  }

  struct Case: CustomTestStringConvertible, Sendable {
    var rows: Int
    var members: Int
    var groups: Int
    var bins: Int
    var outputs: Int
    var denseEvery: Int
    /// Blocks cut where the groups (and the codes) start, as a feature block's are; else every
    /// 16 columns.
    var featureBlocks = false
    var inputs: Int { groups * bins + 5 }
    var blocks: RunBlocks {
      RunBlocks(
        inputs: inputs,
        featureStarts: featureBlocks
          ? (0..<groups).map { $0 * bins } + (0..<5).map { groups * bins + $0 } : [])
    }
    var testDescription: String {
      "R \(rows), K \(members), \(inputs) → \(outputs), dense rows every \(denseEvery)"
        + (featureBlocks ? ", blocks at the features" : "")
    }
  }

  static let cases = [
    Case(rows: 9, members: 3, groups: 3, bins: 24, outputs: 32, denseEvery: 4),
    Case(rows: 9, members: 2, groups: 3, bins: 24, outputs: 33, denseEvery: 0),
    // Outputs in lanes of 64, of 32, of 8 and one by one.
    Case(rows: 11, members: 3, groups: 3, bins: 17, outputs: 45, denseEvery: 5),
    Case(rows: 13, members: 2, groups: 3, bins: 24, outputs: 109, denseEvery: 3),
    Case(rows: 64, members: 8, groups: 6, bins: 41, outputs: 64, denseEvery: 0),
    Case(rows: 50, members: 8, groups: 6, bins: 41, outputs: 64, denseEvery: 7),
    // Blocks at the features: one of 41, 48 or 24 bins each, a feature of 70 bins cut at 64,
    // and the codes (a feature each) merged into one block.
    Case(
      rows: 64, members: 8, groups: 6, bins: 41, outputs: 64, denseEvery: 0, featureBlocks: true),
    Case(
      rows: 50, members: 4, groups: 5, bins: 48, outputs: 45, denseEvery: 7, featureBlocks: true),
    Case(
      rows: 20, members: 3, groups: 2, bins: 70, outputs: 33, denseEvery: 4, featureBlocks: true),
    Case(
      rows: 30, members: 2, groups: 3, bins: 24, outputs: 40, denseEvery: 0, featureBlocks: true),
  ]

  /// The scan of rows into terms (eight compares at a time, then bits) against the plain loop
  /// over columns: runs across the 64-column words and at the row's ends, −0, NaN, values of 1
  /// beside other values, widths that are not multiples of 8 or 64, and rows over the cap.
  @Test(arguments: [32, 37, 64, 100, 129, 256])
  func theScanFindsTheTermsOfThePlainLoop(inputs: Int) {
    var rng = SeededGenerator(seed: UInt64(inputs))
    let rows = 40
    var x = [Float](repeating: 0, count: rows * inputs)
    for i in 0..<rows {
      var j = 0
      while j < inputs {
        let length = Int(rng.uniform(1, 90))
        let kind = Int(rng.uniform(0, 6))
        for k in j..<min(j + length, inputs) {
          x[i * inputs + k] =
            switch kind {
            case 0, 1: 0
            case 2: 1
            case 3: k % 7 == 0 ? -0.0 : 0
            case 4: k % 5 == 0 ? Float(rng.uniform(-2, 2)) : 0
            default: k % 11 == 0 ? .nan : k % 3 == 0 ? 1 : 0
            }
        }
        j += length
      }
    }
    var terms = [Float](repeating: .nan, count: rows * inputs)
    let count = terms.withUnsafeMutableBufferPointer {
      scanRuns(x, rows: rows, inputs: inputs, into: $0.baseAddress!)
    }
    var expectedCount = 0
    for i in 0..<rows {
      // The plain loop: a nonzero column starts a term, a one extends it over the ones after it.
      var expected: [(Int, Int, UInt32)] = []
      var j = 0
      while j < inputs {
        let v = x[i * inputs + j]
        if v == 0 {
          j += 1
          continue
        }
        var e = j
        if v == 1 { while e + 1 < inputs && x[i * inputs + e + 1] == 1 { e += 1 } }
        expected.append((j, e, v.bitPattern))
        j = e + 1
      }
      let found = terms.withUnsafeBufferPointer { t in
        runTerms(t.baseAddress!, row: i, inputs: inputs).map { (p, n) in
          (0..<n).map { k in
            let (a, b, v) = term(p, k)
            return (a, b, v.bitPattern)
          }
        }
      }
      if expected.count > inputs / 8 {
        #expect(found == nil, "row \(i): \(expected.count) terms stay with the product")
        continue
      }
      expectedCount += 1
      guard let got = found else {
        Issue.record("row \(i): \(expected.count) terms, but it stayed with the product")
        continue
      }
      #expect(got.count == expected.count, "row \(i)")
      for (g, w) in zip(got, expected) {
        #expect(g.0 == w.0 && g.1 == w.1 && g.2 == w.2, "row \(i): \(g) against \(w)")
      }
    }
    #expect(count == expectedCount)
    #expect(expectedCount > 0 && expectedCount < rows, "rows of both kinds: \(expectedCount)")
  }

  @Test func blocksStartWhereFeaturesStart() {
    // Without features: every 16 columns.
    #expect(RunBlocks(inputs: 40).starts == [0, 16, 32, 40])
    #expect(RunBlocks(inputs: 16).starts == [0, 16])
    // diamonds' layout: piecewise-linear carat (43 bins), cut, color, clarity (5, 7, 8
    // levels), depth (38), table (11), x, y, z (48 each). The one-hot features merge into
    // blocks of 8 columns or more; every feature of bins starts a block.
    let diamonds = RunBlocks(
      inputs: 256, featureStarts: [0, 43, 48, 55, 63, 101, 112, 160, 208])
    #expect(diamonds.starts == [0, 43, 55, 63, 101, 112, 160, 208, 256])
    #expect(diamonds.count == 8)
    // A feature wider than 64 columns is cut every 64; a start 3 columns on joins the block
    // before it; starts out of range or repeated change nothing.
    #expect(
      RunBlocks(inputs: 200, featureStarts: [0, 150, 3, 150, 400, -1]).starts
        == [0, 64, 128, 150, 200])
  }

  @Test(arguments: cases)
  func forwardAndBackwardMatchTheScaledCopies(_ c: Case) {
    let (R, K, I, O) = (c.rows, c.members, c.inputs, c.outputs)
    #expect(runsPay(inputs: I, outputs: O))
    var rng = SeededGenerator(seed: UInt64(R * 31 + K * 7 + I + O * 1009))
    let x = Self.rows(
      R, groups: c.groups, bins: c.bins, codes: 5, denseEvery: c.denseEvery, rng: &rng)
    let draw = { (n: Int) in (0..<n).map { _ in Float(rng.uniform(-1, 1)) } }
    let (r, w, b, delta) = (draw(K * I), draw(O * I), draw(O), draw(K * R * O))
    var z = [Double](repeating: 0, count: K * R * O)
    var dW = [Double](repeating: 0, count: O * I)
    var dr = [Double](repeating: 0, count: K * I)
    var dx = [Double](repeating: 0, count: R * I)
    var db = [Double](repeating: 0, count: O)
    // |terms| of each gradient's sum, for its tolerance.
    var (dWScale, drScale) = (
      [Double](repeating: 0, count: O * I), [Double](repeating: 0, count: K * I)
    )
    // |terms| of each sum, for the tolerance.
    var scale = [Double](repeating: 0, count: K * R * O)
    for m in 0..<K {
      for i in 0..<R {
        for o in 0..<O {
          var s = Double(b[o])
          let d = Double(delta[(m * R + i) * O + o])
          db[o] += d
          for j in 0..<I {
            let u = Double(x[i * I + j]) * Double(r[m * I + j])
            s += u * Double(w[o * I + j])
            scale[(m * R + i) * O + o] += abs(u * Double(w[o * I + j]))
            dW[o * I + j] += d * u
            dWScale[o * I + j] += abs(d * u)
            let du = d * Double(w[o * I + j])
            dr[m * I + j] += du * Double(x[i * I + j])
            drScale[m * I + j] += abs(du * Double(x[i * I + j]))
            dx[i * I + j] += du * Double(r[m * I + j])
          }
          z[(m * R + i) * O + o] = s
        }
      }
    }
    var u = [Float](repeating: .nan, count: K * R * I)
    var terms = [Float](repeating: .nan, count: R * I)
    var wt = [Float](repeating: .nan, count: I * O)
    var pieces = [Float](repeating: .nan, count: runPiecesRows(R) * I)
    var y = [Float](repeating: .nan, count: K * R * O)
    var zs = [Float](repeating: .nan, count: K * R * O)
    var g = [Float](repeating: .nan, count: K * O * I)
    var wm = [Float](repeating: .nan, count: K * O * I)
    var (dWs, dbs, drs, dxs) = (
      [Float](repeating: .nan, count: O * I), [Float](repeating: .nan, count: O),
      [Float](repeating: .nan, count: K * I), [Float](repeating: .nan, count: R * I)
    )
    terms.withUnsafeMutableBufferPointer { t in
      wt.withUnsafeMutableBufferPointer { wt in
        pieces.withUnsafeMutableBufferPointer { p in
          let runs = RunScratch(
            terms: t.baseAddress!, transposed: wt.baseAddress!, pieces: p.baseAddress!,
            blocks: c.blocks)
          adaptedDenseForward(
            x: x, r: r, w: w, b: b, u: &u, runs: runs, y: &y, z: &zs, rows: R, members: K,
            inputs: I, outputs: O, .relu, parameter: 0)
          adaptedDenseBackward(
            delta: delta, x: x, r: r, w: w, dW: &dWs, db: &dbs, dr: &drs, g: &g, wm: &wm,
            dx: &dxs, runs: runs, u: &u, rows: R, members: K, inputs: I, outputs: O)
        }
      }
    }
    let structured = (0..<R).filter { i in
      terms.withUnsafeBufferPointer { runTerms($0.baseAddress!, row: i, inputs: I) != nil }
    }.count
    #expect(structured == (c.denseEvery == 0 ? R : R - R / c.denseEvery), "rows of runs")
    for j in 0..<K * R * O {
      let tolerance = 1e-5 * (scale[j] + abs(z[j])) + 1e-6
      #expect(abs(Double(zs[j]) - z[j]) <= tolerance, "z[\(j)]: \(zs[j]) against \(z[j])")
      #expect(abs(Double(y[j]) - max(0, z[j])) <= tolerance, "y[\(j)]")
    }
    // Each weight's and adapter's gradient to a few units in the last place of the sum of its
    // terms' magnitudes: small gradients (a number's top bins, which few rows reach) included.
    for (name, ours, reference, scale) in [("dW", dWs, dW, dWScale), ("dr", drs, dr, drScale)] {
      for j in reference.indices {
        #expect(
          abs(Double(ours[j]) - reference[j]) <= 1e-6 * scale[j] + 1e-9,
          "\(name)[\(j)]: \(ours[j]) against \(reference[j]) (terms' magnitude \(scale[j]))")
      }
    }
    for (name, ours, reference, depth) in [
      ("dW", dWs, dW, K * R), ("db", dbs, db, K * R), ("dr", drs, dr, R * O),
      ("dx", dxs, dx, K * O),
    ] {
      for j in reference.indices {
        #expect(
          abs(Double(ours[j]) - reference[j]) <= 1e-5 * Double(depth) * 2 + 1e-5
            * abs(reference[j]),
          "\(name)[\(j)]: \(ours[j]) against \(reference[j])")
      }
    }
    // A row's output is the same bits alone among rows of runs and among rows that are not.
    if c.denseEvery > 0 {
      let runsOnly = (0..<R).filter { i in !(i % c.denseEvery == c.denseEvery - 1) }
      let x2 = runsOnly.flatMap { Array(x[$0 * I..<($0 + 1) * I]) }
      let rows2 = runsOnly.count
      var y2 = [Float](repeating: .nan, count: K * rows2 * O)
      var u2 = [Float](repeating: .nan, count: K * rows2 * I)
      terms.withUnsafeMutableBufferPointer { t in
        wt.withUnsafeMutableBufferPointer { wt in
          pieces.withUnsafeMutableBufferPointer { p in
            adaptedDenseForward(
              x: x2, r: r, w: w, b: b, u: &u2,
              runs: RunScratch(
                terms: t.baseAddress!, transposed: wt.baseAddress!, pieces: p.baseAddress!,
                blocks: c.blocks),
              y: &y2, z: nil, rows: rows2, members: K, inputs: I, outputs: O, .relu, parameter: 0)
          }
        }
      }
      for m in 0..<K {
        for (k, i) in runsOnly.enumerated() {
          let (a, b) = ((m * R + i) * O, (m * rows2 + k) * O)
          #expect(Array(y[a..<a + O]) == Array(y2[b..<b + O]), "member \(m), row \(i)")
        }
      }
    }
  }
}

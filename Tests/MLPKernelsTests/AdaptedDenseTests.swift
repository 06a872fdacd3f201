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

// TabM-mini's first layer with the adapters folded into its weight, against the computation it
// replaces written out naively in double precision: each member's copy of the batch scaled by
// its adapter, times Wᵀ plus b, through the activation; and backward, ∂L/∂W, ∂L/∂b, ∂L/∂r and
// ∂L/∂x from the scaled copies. Sizes below and above the pool's threshold (the members spread
// over threads), and a partial batch (fewer rows than the buffers hold).

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
  func matchesTheScaledCopiesItReplaces(_ c: Case) {
    let (R, K, I, O) = (c.rows, c.members, c.inputs, c.outputs)
    var rng = SeededGenerator(seed: UInt64(R * 7919 + K * 104_729 + I * 31 + O))
    let draw = { (n: Int) in (0..<n).map { _ in Float(rng.uniform(-1, 1)) } }
    let (x, r, w, b) = (draw(R * I), draw(K * I), draw(O * I), draw(O))
    let delta = draw(K * R * O)
    // The reference: u_m = x ⊙ r_m, z_m = u_m · Wᵀ + b, y = relu(z), in double precision.
    var z = [Double](repeating: 0, count: K * R * O)
    var dW = [Double](repeating: 0, count: O * I)
    var dr = [Double](repeating: 0, count: K * I)
    var dx = [Double](repeating: 0, count: R * I)
    var db = [Double](repeating: 0, count: O)
    for m in 0..<K {
      for i in 0..<R {
        for o in 0..<O {
          var s = Double(b[o])
          for j in 0..<I { s += Double(x[i * I + j]) * Double(r[m * I + j]) * Double(w[o * I + j]) }
          z[(m * R + i) * O + o] = s
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
    // Ours, in buffers one row larger per member than the batch, so that member-major strides
    // that used the buffer's rows instead of the batch's would show.
    let capacity = R + 1
    var y = [Float](repeating: .nan, count: K * capacity * O)
    var zs = [Float](repeating: .nan, count: K * capacity * O)
    var wm = [Float](repeating: .nan, count: K * O * I)
    var g = [Float](repeating: .nan, count: K * O * I)
    var (dWs, dbs, drs, dxs) = (
      [Float](repeating: .nan, count: O * I), [Float](repeating: .nan, count: O),
      [Float](repeating: .nan, count: K * I), [Float](repeating: .nan, count: R * I)
    )
    adaptedDenseForward(
      x: x, r: r, wm: &wm, w: w, b: b, y: &y, z: &zs, rows: R, members: K, inputs: I, outputs: O,
      .relu, parameter: 0)
    adaptedDenseBackward(
      delta: delta, x: x, r: r, w: w, wm: wm, dW: &dWs, db: &dbs, dr: &drs, g: &g, dx: &dxs,
      rows: R, members: K, inputs: I, outputs: O)
    let tolerance = { (reference: Double, scale: Int) in
      1e-5 * Double(scale) + 1e-5 * abs(reference)
    }
    var worst = 0.0
    for j in 0..<K * R * O {
      #expect(abs(Double(zs[j]) - z[j]) <= tolerance(z[j], I), "z[\(j)]")
      #expect(abs(Double(y[j]) - max(0, z[j])) <= tolerance(z[j], I), "y[\(j)]")
      worst = max(worst, abs(Double(zs[j]) - z[j]))
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
    #expect(worst > 0 || R * I < 20, "the comparison compared values")
  }
}

// The activation epilogues on each instruction set: the x86-64-v3 instance (8-wide) and, on a
// CPU with AVX-512, the x86-64-v4 instance (16-wide), forward (bias then σ) and backward (⊙ σ'),
// for every activation, against σ in double precision and against each other, on row lengths
// around the vector widths.

import Foundation
import MLPCore
import MLPKernelsAVX512
import Testing

@testable import MLPKernels

@Suite struct ElementwiseISATests {
  @Test(arguments: Activation.allCases)
  func epiloguesMatchTheReference(_ activation: Activation) {
    var rng = SeededGenerator(seed: 11)
    let p: Float = activation.parameter.map { Float($0.defaultValue) } ?? 0
    for (rows, cols) in [(1, 1), (3, 7), (5, 16), (4, 17), (2, 33), (7, 64)] {
      let z = (0..<rows * cols).map { _ in Float(rng.uniform(-6, 6)) }
      let bias = (0..<cols).map { _ in Float(rng.uniform(-1, 1)) }
      let g = (0..<rows * cols).map { _ in Float(rng.uniform(-1, 1)) }
      var instances: [(String, [Float], [Float])] = []
      for wide in CPUFeatures.hasAVX512 ? [false, true] : [false] {
        var y = z
        var d = g
        y.withUnsafeMutableBufferPointer { y in
          bias.withUnsafeBufferPointer { b in
            if wide {
              biasActivationForwardAVX512(
                y.baseAddress!, bias: b.baseAddress!, rows: rows, cols: cols, activation,
                parameter: p)
            } else {
              biasActivationForward(
                Baseline.self, y.baseAddress!, bias: b.baseAddress!, rows: rows, cols: cols,
                activation, parameter: p)
            }
          }
        }
        d.withUnsafeMutableBufferPointer { d in
          y.withUnsafeBufferPointer { x in
            if wide {
              activationBackwardAVX512(
                d.baseAddress!, x: x.baseAddress!, rows: rows, cols: cols, activation,
                parameter: p)
            } else {
              activationBackward(
                Baseline.self, d.baseAddress!, x: x.baseAddress!, rows: rows, cols: cols,
                activation, parameter: p)
            }
          }
        }
        instances.append((wide ? "avx512" : "avx2", y, d))
      }
      for (name, y, d) in instances {
        for r in 0..<rows {
          let row = (0..<cols).map { Double(z[r * cols + $0]) + Double(bias[$0]) }
          let want = activation.reference(row, parameter: Double(p))
          for c in 0..<cols {
            let got = Double(y[r * cols + c])
            #expect(
              abs(got - want[c]) <= 2e-6 * max(1, abs(want[c])),
              "\(name) \(rows)×\(cols) forward [\(r), \(c)]: \(got) vs \(want[c])")
          }
        }
        // Backward against σ' by central differences of the double reference, at z.
        for i in 0..<rows * cols where activation != .softmax {
          let zi = Double(z[i]) + Double(bias[i % cols])
          let h = 1e-4
          let slope =
            (activation.reference([zi + h], parameter: Double(p))[0]
              - activation.reference([zi - h], parameter: Double(p))[0]) / (2 * h)
          if activation.hasKinkAtZero && abs(zi) < 1e-3 { continue }
          let want = Double(g[i]) * slope
          #expect(
            abs(Double(d[i]) - want) <= 1e-4 * max(1, abs(want)),
            "\(name) \(rows)×\(cols) backward [\(i)]: \(d[i]) vs \(want)")
        }
      }
      if instances.count == 2 {
        for k in 0..<rows * cols {
          #expect(
            abs(instances[0].1[k] - instances[1].1[k]) <= 1e-6 * max(1, abs(instances[0].1[k])))
          #expect(
            abs(instances[0].2[k] - instances[1].2[k]) <= 1e-6 * max(1, abs(instances[0].2[k])))
        }
      }
    }
  }
}

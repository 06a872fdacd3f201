// The activation epilogues on each instruction set: the x86-64-v3 instance (8-wide) and, on a
// CPU with AVX-512, the x86-64-v4 instance (16-wide), forward (bias then σ) and backward (⊙ σ'),
// for every activation, against σ in double precision and against each other, on row lengths
// around the vector widths; gelu, gelu_tanh and silu also against PyTorch's float32 values and
// autograd derivatives (Tests/Fixtures/activations_torch.json, scripts/activation_torch.py).

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
        // Activations whose σ' needs z keep it from the forward epilogue.
        var kept = [Float](repeating: .nan, count: rows * cols)
        y.withUnsafeMutableBufferPointer { y in
          bias.withUnsafeBufferPointer { b in
            kept.withUnsafeMutableBufferPointer { k in
              let keep = activation.savesInput ? k.baseAddress : nil
              if wide {
                biasActivationForwardAVX512(
                  y.baseAddress!, bias: b.baseAddress!, preActivation: keep, rows: rows,
                  cols: cols, activation, parameter: p)
              } else {
                biasActivationForward(
                  Baseline.self, y.baseAddress!, bias: b.baseAddress!, preActivation: keep,
                  rows: rows, cols: cols, activation, parameter: p)
              }
            }
          }
        }
        let sums = (0..<rows * cols).map { z[$0] + bias[$0 % cols] }
        let untouched = kept.allSatisfy { $0.isNaN }
        if activation.savesInput {
          #expect(kept == sums, "\(activation) z")
        } else {
          #expect(untouched, "\(activation) writes no z")
        }
        let saved = activation.savesInput ? kept : y
        d.withUnsafeMutableBufferPointer { d in
          saved.withUnsafeBufferPointer { s in
            if wide {
              activationBackwardAVX512(
                d.baseAddress!, saved: s.baseAddress!, rows: rows, cols: cols, activation,
                parameter: p)
            } else {
              activationBackward(
                Baseline.self, d.baseAddress!, saved: s.baseAddress!, rows: rows, cols: cols,
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

  struct TorchActivation: Decodable {
    var value: [Double]
    var derivative: [Double]
  }

  @Test(arguments: [Activation.gelu, .geluTanh, .silu])
  func kernelsMatchPyTorch(_ activation: Activation) throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../Fixtures/activations_torch.json")
    let data = try Data(contentsOf: url)
    let fixture = try JSONSerialization.jsonObject(with: data) as? [String: Any]
    let z = try #require(fixture?["z"] as? [Double]).map(Float.init)
    let entry = try #require(fixture?[activation.rawValue] as? [String: [Double]])
    let (values, derivatives) = (try #require(entry["value"]), try #require(entry["derivative"]))
    #expect(z.count > 1500 && values.count == z.count && derivatives.count == z.count)
    let bias = [Float](repeating: 0, count: z.count)
    for wide in CPUFeatures.hasAVX512 ? [false, true] : [false] {
      var x = z
      var kept = z.map { _ in Float.nan }
      var slope = [Float](repeating: 1, count: z.count)
      x.withUnsafeMutableBufferPointer { x in
        kept.withUnsafeMutableBufferPointer { k in
          if wide {
            biasActivationForwardAVX512(
              x.baseAddress!, bias: bias, preActivation: k.baseAddress!, rows: 1, cols: z.count,
              activation, parameter: 0)
          } else {
            biasActivationForward(
              Baseline.self, x.baseAddress!, bias: bias, preActivation: k.baseAddress!, rows: 1,
              cols: z.count, activation, parameter: 0)
          }
        }
      }
      slope.withUnsafeMutableBufferPointer { g in
        if wide {
          activationBackwardAVX512(
            g.baseAddress!, saved: kept, rows: 1, cols: z.count, activation, parameter: 0)
        } else {
          activationBackward(
            Baseline.self, g.baseAddress!, saved: kept, rows: 1, cols: z.count, activation,
            parameter: 0)
        }
      }
      let name = "\(activation.rawValue) \(wide ? "avx512" : "avx2")"
      // Within a few float ulp of PyTorch's float32 result (absolute below 1).
      var worst = (value: 0.0, derivative: 0.0)
      for i in z.indices {
        let dv = abs(Double(x[i]) - values[i]) / max(1, abs(values[i]))
        let dd = abs(Double(slope[i]) - derivatives[i]) / max(1, abs(derivatives[i]))
        worst = (max(worst.value, dv), max(worst.derivative, dd))
        #expect(dv <= 1e-6, "\(name) σ(\(z[i])) = \(x[i]), PyTorch \(values[i])")
        #expect(dd <= 2e-6, "\(name) σ'(\(z[i])) = \(slope[i]), PyTorch \(derivatives[i])")
      }
      print("\(name): worst difference from PyTorch: value \(worst.value), σ' \(worst.derivative)")
    }
  }

  /// The selected ISA's epilogues split a batch of 2^14 values or more over the pool's threads
  /// by rows: each row's values are the same bits as that row alone gives (one row, never split).
  @Test(arguments: [Activation.relu, .softmax, .gelu])
  func splitEpiloguesEqualTheRowsAlone(_ activation: Activation) {
    var rng = SeededGenerator(seed: 5)
    let (rows, cols) = (700, 40)
    #expect(rows * cols >= rowSplitValues)
    let p: Float = activation.parameter.map { Float($0.defaultValue) } ?? 0
    let z = (0..<rows * cols).map { _ in Float(rng.uniform(-6, 6)) }
    let bias = (0..<cols).map { _ in Float(rng.uniform(-1, 1)) }
    let g = (0..<rows * cols).map { _ in Float(rng.uniform(-1, 1)) }
    func epilogues(rowsAtOnce: Int) -> (y: [Float], kept: [Float], d: [Float]) {
      var (y, d) = (z, g)
      var kept = [Float](repeating: 0, count: rows * cols)
      y.withUnsafeMutableBufferPointer { y in
        kept.withUnsafeMutableBufferPointer { k in
          d.withUnsafeMutableBufferPointer { d in
            for first in stride(from: 0, to: rows, by: rowsAtOnce) {
              let (n, at) = (min(rowsAtOnce, rows - first), first * cols)
              biasActivationForward(
                y.baseAddress! + at, bias: bias, preActivation: k.baseAddress! + at, rows: n,
                cols: cols, activation, parameter: p)
              let saved = activation.savesInput ? k.baseAddress! + at : y.baseAddress! + at
              activationBackward(
                d.baseAddress! + at, saved: saved, rows: n, cols: cols, activation, parameter: p)
            }
          }
        }
      }
      return (y, kept, d)
    }
    let whole = epilogues(rowsAtOnce: rows)
    let alone = epilogues(rowsAtOnce: 1)
    #expect(whole.y.map(\.bitPattern) == alone.y.map(\.bitPattern), "\(activation) forward")
    #expect(whole.kept.map(\.bitPattern) == alone.kept.map(\.bitPattern), "\(activation) z")
    #expect(whole.d.map(\.bitPattern) == alone.d.map(\.bitPattern), "\(activation) backward")
    // The values are the activation's, not left as they were.
    #expect(whole.y != z && whole.d != g)
  }
}

@Suite struct ColumnSumsTests {
  /// Column sums split over the pool (from 2^14 values) are each column's sum in the order one
  /// thread takes it: down the rows for columns in whole groups of 8, four partial sums for the
  /// last few.
  @Test(arguments: [(900, 20), (600, 64), (300, 61)])
  func splitSumsAreTheSameBits(_ shape: (Int, Int)) {
    let (rows, cols) = shape
    #expect(rows * cols >= rowSplitValues)
    var rng = SeededGenerator(seed: 3)
    let x = (0..<rows * cols).map { _ in Float(rng.uniform(-1, 1)) }
    var sums = [Float](repeating: .nan, count: cols)
    sums.withUnsafeMutableBufferPointer {
      columnSums(x, rows: rows, cols: cols, into: $0.baseAddress!)
    }
    let grouped = cols / 8 * 8
    for j in 0..<cols {
      var want: Float = 0
      if j < grouped {
        for r in 0..<rows { want += x[r * cols + j] }
      } else {
        var partial = SIMD4<Float>()
        var r = 0
        while r + 4 <= rows {
          partial += SIMD4((0..<4).map { x[(r + $0) * cols + j] })
          r += 4
        }
        want = partial.sum()
        while r < rows {
          want += x[r * cols + j]
          r += 1
        }
      }
      #expect(sums[j].bitPattern == want.bitPattern, "\(rows)×\(cols) column \(j)")
    }
  }
}

// Fast tanh, sigmoid, exp and erf as branch-free scalar arithmetic that the compiler vectorises in
// element-wise loops (vector body and scalar tail give bit-identical results: the same fused
// multiply-adds, no fast-math). tanh is the rational (13/6) minimax approximation that Eigen
// uses for float, on x clamped to ±7.905 (where tanh rounds to ±1); relative error a few ulp
// (near 0 the ratio of the constant terms, 1 − 1.3e-7, keeps it within one ulp, so no special
// case is needed). σ(x) = ½ + ½ tanh(x/2).

@inlinable @inline(__always)
public func fastTanh(_ value: Float) -> Float {
  let x = min(max(value, -7.905_311_107_635_498), 7.905_311_107_635_498)
  let p = x * x
  var num: Float = -2.760_768_477_423_55e-16
  num = Float(2.000_187_904_824_77e-13).addingProduct(num, p)
  num = Float(-8.604_671_522_137_35e-11).addingProduct(num, p)
  num = Float(5.122_297_090_371_14e-08).addingProduct(num, p)
  num = Float(1.485_722_357_179_79e-05).addingProduct(num, p)
  num = Float(6.372_619_288_754_36e-04).addingProduct(num, p)
  num = Float(4.893_524_558_917_86e-03).addingProduct(num, p)
  var den: Float = 1.198_258_394_667_02e-06
  den = Float(1.185_347_056_866_54e-04).addingProduct(den, p)
  den = Float(2.268_434_632_439_00e-03).addingProduct(den, p)
  den = Float(4.893_525_185_543_85e-03).addingProduct(den, p)
  return x * num / den
}

@inlinable @inline(__always)
public func fastSigmoid(_ x: Float) -> Float { Float(0.5).addingProduct(0.5, fastTanh(0.5 * x)) }

/// e^x as branch-free arithmetic that vectorises: x = n·ln 2 + r with |r| ≤ ½ ln 2 (ln 2 split
/// in two for an exact reduction), e^r from Cephes' degree-6 polynomial, 2^n put into the
/// exponent bits. Relative error about 1 ulp; x is clamped to [−87.3, 88.3], so results stay
/// normal floats (e^x below e^−87.3 ≈ 1.2e−38 returns about that value instead of a tiny one).
@inlinable @inline(__always)
public func fastExp(_ value: Float) -> Float {
  let x = min(max(value, -87.33), 88.3)
  let n = (x * 1.442_695_04).rounded(.toNearestOrEven)
  var r = x - n * 0.693_359_375
  r = r + n * 2.121_944_4e-4
  var p: Float = 1.987_569_15e-4
  p = p * r + 1.398_199_950_7e-3
  p = p * r + 8.333_451_907_3e-3
  p = p * r + 4.166_579_589_4e-2
  p = p * r + 1.666_666_545_9e-1
  p = p * r + 5.000_000_120_1e-1
  let er = p * r * r + r + 1
  return er * Float(bitPattern: UInt32(truncatingIfNeeded: Int32(n) + 127) << 23)
}

/// erf(x) as branch-free arithmetic that vectorises: the odd rational x·P(x²)/Q(x²) of degrees
/// 13/8 that Eigen uses for float (its `generic_fast_erf_float`), on x clamped to ±4, where erf
/// rounds to ±1. Absolute error a few ulp of 1.
@inlinable @inline(__always)
public func fastErf(_ value: Float) -> Float {
  let x = min(max(value, -4), 4)
  let x2 = x * x
  var p: Float = -2.726_142_258_013_06e-10
  p = Float(2.770_681_424_959_02e-08).addingProduct(p, x2)
  p = Float(-2.101_024_020_825_08e-06).addingProduct(p, x2)
  p = Float(-5.692_506_394_623_46e-05).addingProduct(p, x2)
  p = Float(-7.349_906_303_268_55e-04).addingProduct(p, x2)
  p = Float(-2.954_599_808_540_25e-03).addingProduct(p, x2)
  p = Float(-1.609_603_332_624_15e-02).addingProduct(p, x2)
  var q: Float = -1.456_607_184_649_96e-05
  q = Float(-2.133_740_552_789_05e-04).addingProduct(q, x2)
  q = Float(-1.682_826_974_382_03e-03).addingProduct(q, x2)
  q = Float(-7.373_329_167_204_68e-03).addingProduct(q, x2)
  q = Float(-1.426_473_905_141_89e-02).addingProduct(q, x2)
  return x * p / q
}

/// Ten independent chains of fused multiply-adds of `V` for `iterations` rounds, from registers
/// (the FMA peak probe); returns their sum, which callers keep alive.
@inlinable @inline(__always)
public func fmaChains<ISA: InstructionSet, V: SIMD>(
  _: ISA.Type, _: V.Type, _ iterations: Int
) -> Float where V.Scalar == Float {
  let x = V(repeating: 1e-3)
  let y = V(repeating: 1e-3)
  var s = (V(repeating: 1), V(repeating: 1), V(repeating: 1), V(repeating: 1), V(repeating: 1))
  var t = (V(repeating: 1), V(repeating: 1), V(repeating: 1), V(repeating: 1), V(repeating: 1))
  for _ in 0..<iterations {
    s.0 = s.0.addingProduct(x, y)
    s.1 = s.1.addingProduct(x, y)
    s.2 = s.2.addingProduct(x, y)
    s.3 = s.3.addingProduct(x, y)
    s.4 = s.4.addingProduct(x, y)
    t.0 = t.0.addingProduct(x, y)
    t.1 = t.1.addingProduct(x, y)
    t.2 = t.2.addingProduct(x, y)
    t.3 = t.3.addingProduct(x, y)
    t.4 = t.4.addingProduct(x, y)
  }
  return (s.0 + s.1 + s.2 + s.3 + s.4 + t.0 + t.1 + t.2 + t.3 + t.4).sum()
}

// Fast tanh and sigmoid as branch-free arithmetic that the compiler vectorises: the rational
// (13/6) minimax approximation of tanh that Eigen uses for float, on x clamped to ±7.905
// (where tanh rounds to ±1); relative error a few ulp. σ(x) = ½ + ½ tanh(x/2).

@inline(__always)
func fastTanh(_ value: Float) -> Float {
  let x = min(max(value, -7.905_311_107_635_498), 7.905_311_107_635_498)
  let p = x * x
  var num: Float = -2.760_768_477_423_55e-16
  num = num * p + 2.000_187_904_824_77e-13
  num = num * p - 8.604_671_522_137_35e-11
  num = num * p + 5.122_297_090_371_14e-08
  num = num * p + 1.485_722_357_179_79e-05
  num = num * p + 6.372_619_288_754_36e-04
  num = num * p + 4.893_524_558_917_86e-03
  var den: Float = 1.198_258_394_667_02e-06
  den = den * p + 1.185_347_056_866_54e-04
  den = den * p + 2.268_434_632_439_00e-03
  den = den * p + 4.893_525_185_543_85e-03
  let r = x * num / den
  return abs(value) < 0.0004 ? value : r
}

@inline(__always)
func fastSigmoid(_ x: Float) -> Float { 0.5 + 0.5 * fastTanh(0.5 * x) }

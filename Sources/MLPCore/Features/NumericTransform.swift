// A numeric feature column's transform, fitted on the training rows: missing cells filled
// (mean, median or a constant, as scikit-learn's SimpleImputer), an optional 0/1 "was missing"
// column, then one scaling fitted on the filled values (as a scikit-learn pipeline of imputer and
// scaler fits it):
//   standard  (x − mean) / std                     StandardScaler (population std)
//   robust    (x − median) / (q75 − q25)           RobustScaler (numpy's linear percentiles)
//   minmax    (x − min) / (max − min)              MinMaxScaler
//   quantile  the empirical CDF, uniform on [0, 1]  QuantileTransformer(output_distribution=
//             from min(1000, n) quantiles           'uniform', subsample=None)
//   log       ln(1 + x), for x ≥ 0                 FunctionTransformer(np.log1p)
//   robust_smooth_clip  v = (x − median)/s, then   RealMLP's median_center,
//             v/√(1 + v²/9) (s = q75 − q25, or       robust_scale, smooth_clip
//             half the range when that is 0)       (Holzmüller et al. 2024; pytabkit)
//   piecewise_linear  one column per bin between     rtdl_num_embeddings'
//             quantile edges e_0 < … < e_T:          compute_bins + PiecewiseLinearEncoding
//             (x − e_t)/(e_{t+1} − e_t), clipped to   (Gorishniy et al. 2022)
//             [0, 1] (the first bin only above, the
//             last only below, a single bin never)
// A scale of 0 (a constant column) is taken as 1, as scikit-learn does. Everything is computed in
// Double and stored in the model file, so prediction applies the same numbers.

import Foundation

/// A numeric column's periodic embedding (`embedding: periodic`): K frequencies, the width D
/// of its embedding, σ of the frequencies' initialisation, and whether its linear layer is the
/// one shared by every lite column (`rtdl_num_embeddings`' PeriodicEmbeddings).
public struct PeriodicSettings: Codable, Sendable, Equatable {
  public var frequencies: Int
  public var dim: Int
  public var sigma: Double
  public var lite: Bool

  public init(
    frequencies: Int = Self.defaultFrequencies, dim: Int = Self.defaultDim,
    sigma: Double = Self.defaultSigma, lite: Bool = false
  ) {
    (self.frequencies, self.dim, self.sigma, self.lite) = (frequencies, dim, sigma, lite)
  }

  /// `rtdl_num_embeddings`' defaults: 48 frequencies, 24 columns, σ = 0.01.
  public static let defaultFrequencies = 48
  public static let defaultDim = 24
  public static let defaultSigma = 0.01
  /// The most frequencies and columns a spec may ask for.
  public static let maximumFrequencies = 1024
  public static let maximumDim = 1024
}

/// How missing numeric cells are filled.
public enum Imputation: String, Codable, Sendable, CaseIterable {
  case error, mean, median, constant
}

/// How a numeric column is scaled after filling.
public enum Scaling: String, Codable, Sendable, CaseIterable {
  case standard, robust, minmax, quantile, log, none
  case piecewiseLinear = "piecewise_linear"
  case robustSmoothClip = "robust_smooth_clip"
}

/// Why a column cannot be fitted or a cell transformed, in words.
public struct FeatureProblem: Error, Sendable, Equatable, CustomStringConvertible {
  public var description: String
  /// The raw column (its index among the declared ones) and row (0-based) it is about, if known.
  public var column: Int?
  public var row: Int?
  public init(_ description: String, column: Int? = nil, row: Int? = nil) {
    (self.description, self.column, self.row) = (description, column, row)
  }
}

/// A numeric column's fitted transform.
public struct NumericTransform: Codable, Sendable, Equatable {
  /// The value of a missing cell (nil: a missing cell is an error).
  public var fill: Double?
  /// Whether a 0/1 "was missing" column follows the value.
  public var indicator: Bool
  public var scaling: Scaling
  /// x ↦ (x − center) / scale for standard, robust and minmax.
  public var center: Double
  public var scale: Double
  /// The fitted quantiles (quantile scaling), at references 0, 1/(q−1), …, 1.
  public var quantiles: [Double]?
  /// The bin edges e_0 < … < e_T (piecewise-linear encoding): T columns.
  public var edges: [Double]?
  /// The periodic embedding the scaled value feeds (a layer of the plan), if any.
  public var periodic: PeriodicSettings?

  /// The columns of the value: one, or one per bin.
  public var valueWidth: Int { scaling == .piecewiseLinear ? max(1, (edges?.count ?? 2) - 1) : 1 }
  /// The columns this feature takes in a loaded row.
  public var width: Int { valueWidth + (indicator ? 1 : 0) }
  /// The columns this feature takes in x^0: a periodic embedding's in place of the value.
  public var inputWidth: Int { (periodic?.dim ?? valueWidth) + (indicator ? 1 : 0) }

  /// Bins of the piecewise-linear encoding when a spec names none (rtdl_num_embeddings' default).
  public static let defaultBins = 48
  /// The most bins a spec may ask for.
  public static let maximumBins = 1024

  /// The quantiles fitted at most (QuantileTransformer's default `n_quantiles`).
  public static let maximumQuantiles = 1000

  /// Fits the transform on a column's training cells (nil: missing).
  public static func fit(
    _ cells: [Double?], missing: Imputation, fill constant: Double? = nil, indicator: Bool = false,
    scaling: Scaling, bins: Int = defaultBins
  ) -> Result<NumericTransform, FeatureProblem> {
    let present = cells.compactMap { $0 }
    let absent = cells.count - present.count
    if absent > 0, missing == .error {
      return .failure(FeatureProblem("\(absent) cells are missing and 'missing' is 'error'"))
    }
    var fill: Double?
    switch missing {
    case .error: fill = nil
    case .constant: fill = constant ?? 0
    case .mean, .median:
      guard !present.isEmpty else { return .failure(FeatureProblem("every cell is missing")) }
      fill = missing == .mean ? Self.mean(present) : Self.percentile(present.sorted(), 50)
    }
    let filled = absent == 0 ? present : cells.map { $0 ?? fill! }
    var t = NumericTransform(
      fill: fill, indicator: indicator, scaling: scaling, center: 0, scale: 1, quantiles: nil)
    guard !filled.isEmpty else { return .success(t) }
    switch scaling {
    case .none: break
    case .log:
      if let bad = filled.first(where: { !($0 >= 0) }) {
        return .failure(FeatureProblem("'log' scaling needs values ≥ 0; the column holds \(bad)"))
      }
    case .standard:
      t.center = Self.mean(filled)
      let variance =
        filled.reduce(0) { $0 + ($1 - t.center) * ($1 - t.center) } / Double(filled.count)
      t.scale = Self.nonZero(variance.squareRoot())
    case .robust:
      let sorted = filled.sorted()
      t.center = Self.percentile(sorted, 50)
      t.scale = Self.nonZero(Self.percentile(sorted, 75) - Self.percentile(sorted, 25))
    case .robustSmoothClip:
      // RealMLP: the interquartile range, or half the range where that is 0 (a constant column
      // keeps scale 1: its training values all map to 0, as RealMLP's factor 0 maps them).
      let sorted = filled.sorted()
      t.center = Self.percentile(sorted, 50)
      let spread = Self.percentile(sorted, 75) - Self.percentile(sorted, 25)
      t.scale = Self.nonZero(spread == 0 ? 0.5 * (sorted.last! - sorted[0]) : spread)
    case .minmax:
      let (low, high) = (filled.min()!, filled.max()!)
      t.center = low
      t.scale = Self.nonZero(high - low)
    case .quantile:
      let sorted = filled.sorted()
      let count = max(1, min(maximumQuantiles, sorted.count))
      // np.nanpercentile(x, references * 100), to the bit: repeated values must stay repeated.
      var q = Self.references(count).map { Self.percentile(sorted, $0 * 100) }
      // Monotone, as scikit-learn makes them (np.maximum.accumulate).
      for i in q.indices.dropFirst() { q[i] = max(q[i], q[i - 1]) }
      t.quantiles = q
    case .piecewiseLinear:
      // compute_bins: torch.quantile(x, linspace(0, 1, bins + 1)).unique(), the distinct
      // quantile edges, with its levels and interpolation to the bit.
      let sorted = filled.sorted()
      var edges: [Double] = []
      for q in Self.torchLevels(bins) {
        let e = Self.torchQuantile(sorted, q)
        if edges.last.map({ e > $0 }) ?? true { edges.append(e) }
      }
      guard edges.count >= 2 else {
        return .failure(
          FeatureProblem(
            "'piecewise_linear' needs at least two distinct values; the column holds only \(sorted[0])"
          ))
      }
      t.edges = edges
    }
    return .success(t)
  }

  /// Writes the transformed cell (nil: missing) into `out` (`width` columns): its value or its
  /// bins, then the indicator when there is one.
  public func write(_ cell: Double?, into out: UnsafeMutableBufferPointer<Float>) -> Result<
    Void, FeatureProblem
  > {
    guard let x = cell ?? fill else { return .failure(FeatureProblem("missing cell")) }
    if indicator { out[valueWidth] = cell == nil ? 1 : 0 }
    guard scaling == .piecewiseLinear, let e = edges else {
      return apply(x).map { out[0] = Float($0.value) }
    }
    let last = e.count - 2
    for t in 0...last {
      var v = (x - e[t]) / (e[t + 1] - e[t])
      if last > 0 {
        if t > 0 { v = max(v, 0) }
        if t < last { v = min(v, 1) }
      }
      out[t] = Float(v)
    }
    return .success(())
  }

  /// The transformed value of a cell (nil: missing) and its indicator (0 or 1).
  public func apply(_ cell: Double?) -> Result<(value: Double, missing: Double), FeatureProblem> {
    guard let x = cell ?? fill else { return .failure(FeatureProblem("missing cell")) }
    let flag: Double = cell == nil ? 1 : 0
    switch scaling {
    case .none: return .success((x, flag))
    case .log:
      guard x >= 0 else { return .failure(FeatureProblem("'log' scaling needs values ≥ 0")) }
      return .success((Foundation.log1p(x), flag))
    case .standard, .robust, .minmax: return .success(((x - center) / scale, flag))
    case .robustSmoothClip:
      let v = (x - center) / scale
      return .success((v / (1 + v * v / 9).squareRoot(), flag))
    case .quantile: return .success((uniform(x), flag))
    case .piecewiseLinear: return .success((x, flag))  // several columns: see `write`
    }
  }

  /// QuantileTransformer's forward map: the mean of the interpolation upwards and downwards
  /// (so a value repeated across quantiles maps to the middle of its references), the ends
  /// exactly 0 and 1.
  func uniform(_ x: Double) -> Double {
    guard let q = quantiles, let first = q.first, let last = q.last else { return 0 }
    if x == first { return 0 }
    if x == last { return 1 }
    let references = Self.references(q.count)
    let up = Self.interpolate(x, q, references)
    let down = Self.interpolate(-x, q.reversed().map { -$0 }, references.reversed().map { -$0 })
    return 0.5 * (up - down)
  }

  /// numpy's `interp`: the value at `x` of the piecewise-linear function through (xs, ys), flat
  /// beyond the ends; at a point repeated in `xs`, its last occurrence's value.
  static func interpolate(_ x: Double, _ xs: [Double], _ ys: [Double]) -> Double {
    let n = xs.count
    if x <= xs[0] { return x == xs[0] && n > 1 ? ys[lastIndex(atMost: x, xs)] : ys[0] }
    if x >= xs[n - 1] { return ys[n - 1] }
    let j = lastIndex(atMost: x, xs)
    if x == xs[j] { return ys[j] }
    let slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j])
    return ys[j] + slope * (x - xs[j])
  }

  /// The largest index j with xs[j] ≤ x (xs sorted, xs[0] ≤ x).
  private static func lastIndex(atMost x: Double, _ xs: [Double]) -> Int {
    var (low, high) = (0, xs.count - 1)
    while low < high {
      let mid = (low + high + 1) / 2
      if xs[mid] <= x { low = mid } else { high = mid - 1 }
    }
    return low
  }

  /// `torch.linspace(0, 1, bins + 1)` as compute_bins makes it (float32, then widened): step
  /// 1/bins in float32; level i is step · i below the middle and 1 − step · (bins − i) from
  /// there, each rounded once to float32 (torch's CPU kernel fuses the multiply-add).
  static func torchLevels(_ bins: Int) -> [Double] {
    let step = Double(Float(1) / Float(bins))
    let steps = bins + 1
    return (0..<steps).map { i in
      let v = i < steps / 2 ? step * Double(i) : 1 - step * Double(steps - i - 1)
      return Double(Float(v))
    }
  }

  /// `torch.quantile(sorted, q)` (interpolation 'linear'): rank q·(n − 1), the values below and
  /// above it, and torch's lerp between them.
  static func torchQuantile(_ sorted: [Double], _ q: Double) -> Double {
    let rank = q * Double(sorted.count - 1)
    let below = min(Int(rank), sorted.count - 1)
    let above = min(Int(rank.rounded(.up)), sorted.count - 1)
    let w = rank - Double(below)
    let (a, b) = (sorted[below], sorted[above])
    return w < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w)
  }

  /// numpy's `linspace(0, 1, n)`: i · (1 / (n − 1)), the last exactly 1.
  static func references(_ n: Int) -> [Double] {
    guard n > 1 else { return [0] }
    let step = 1 / Double(n - 1)
    return (0..<n).map { $0 == n - 1 ? 1 : Double($0) * step }
  }

  /// numpy's `percentile` (method 'linear') of sorted values, computed as numpy computes it (the
  /// virtual index (n − 1)·p/100, and its lerp taken from the nearer end).
  static func percentile(_ sorted: [Double], _ p: Double) -> Double {
    let h = Double(sorted.count - 1) * (p / 100)
    let low = min(Int(h.rounded(.down)), sorted.count - 1)
    let high = min(low + 1, sorted.count - 1)
    let t = h - Double(low)
    let (a, b) = (sorted[low], sorted[high])
    return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t
  }

  /// The mean, summed in pairs for accuracy on long columns.
  static func mean(_ xs: [Double]) -> Double {
    func sum(_ s: ArraySlice<Double>) -> Double {
      s.count <= 64
        ? s.reduce(0, +) : sum(s.prefix(s.count / 2)) + sum(s.suffix(s.count - s.count / 2))
    }
    return sum(xs[...]) / Double(xs.count)
  }

  private static func nonZero(_ x: Double) -> Double { x == 0 || !x.isFinite ? 1 : x }
}

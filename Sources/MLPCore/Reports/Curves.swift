// Learning curves as an SVG picture: the loss and the task's metric (accuracy, or R²) per epoch
// for the train, validation and test splits of one or more runs, drawn from their metrics.jsonl
// lines. One panel per quantity; each run keeps one colour in every panel (20 before any repeats)
// and each split one line style (solid train, dashed validation, dotted test). Axes have round
// ticks, gridlines and titles; a loss spanning more than two decades is drawn on a log scale.
// A run's best epoch is a ring on its monitored curve and an early stop a vertical mark. The
// legend sits below the panels, wrapping into rows (the canvas grows with it), so nothing covers
// a curve. Every polyline has an `id` naming its run, split and quantity, so a test or a script
// can find it.

import Foundation

/// One run to draw: its label, epoch reports, and what its summary says of its end.
public struct CurveRun: Sendable {
  public var label: String
  public var epochs: [EpochReport]
  /// The best epoch (early stopping's), marked on the monitored curve.
  public var bestEpoch: Int?
  /// The epoch an early stop ended the run at.
  public var stoppedEpoch: Int?

  public init(label: String, epochs: [EpochReport], bestEpoch: Int? = nil, stoppedEpoch: Int? = nil)
  {
    (self.label, self.epochs, self.bestEpoch, self.stoppedEpoch) = (
      label, epochs, bestEpoch, stoppedEpoch
    )
  }
}

/// What to draw.
public struct CurveOptions: Sendable {
  /// The second panel's quantity (default: accuracy, or R² for regression); nil keeps it.
  public var metric: MetricName?
  /// The splits to draw (default: all there are).
  public var splits: Set<Split>?
  /// Log scale for the loss: nil decides (over two decades, all positive).
  public var logLoss: Bool?

  public init(metric: MetricName? = nil, splits: Set<Split>? = nil, logLoss: Bool? = nil) {
    (self.metric, self.splits, self.logLoss) = (metric, splits, logLoss)
  }
}

/// SVG learning curves.
public enum Curves {
  /// One series: its run (index), split and points (epoch, value).
  struct Series {
    var run: Int
    var split: Split
    var points: [(Double, Double)]
  }

  /// The picture for `runs` (a label and the epoch reports of its metrics.jsonl each).
  public static func svg(_ runs: [(label: String, epochs: [EpochReport])]) -> String {
    svg(runs.map { CurveRun(label: $0.label, epochs: $0.epochs) })
  }

  // Geometry: panels of 340×240 with room for tick labels and titles; the legend below.
  static let (plotWidth, plotHeight, top) = (340.0, 240.0, 40.0)
  static let (left, gap) = (70.0, 90.0)

  /// The picture for `runs` with `options`.
  public static func svg(_ runs: [CurveRun], options: CurveOptions = CurveOptions()) -> String {
    let classification = runs.contains { r in
      r.epochs.contains { ($0.validation?.accuracy ?? $0.test?.accuracy) != nil }
    }
    let second = options.metric ?? (classification ? .accuracy : .r2)
    let quantities: [MetricName] = second == .loss ? [.loss] : [.loss, second]
    let splits = Split.allCases.filter { options.splits?.contains($0) ?? true }
    let width = left + Double(quantities.count) * (plotWidth + gap) - gap + 40
    var body = ""
    var drawnSplits: Set<Split> = []
    for (p, key) in quantities.enumerated() {
      let series = runs.indices.flatMap { r in
        splits.compactMap { split -> Series? in
          let points = runs[r].epochs.compactMap { line -> (Double, Double)? in
            guard let v = line.value(key, on: split), v.isFinite else { return nil }
            return (Double(line.epoch), v)
          }
          return points.isEmpty ? nil : Series(run: r, split: split, points: thinned(points))
        }
      }
      drawnSplits.formUnion(series.map(\.split))
      let values = series.flatMap { $0.points.map(\.1) }
      let log =
        key == .loss
        && (options.logLoss
          ?? (values.allSatisfy { $0 > 0 } && (values.max() ?? 1) > 100 * (values.min() ?? 1)))
        && values.allSatisfy { $0 > 0 }
      body += panel(
        series, runs: runs, key: key, log: log, x: left + Double(p) * (plotWidth + gap))
    }
    let (legend, legendHeight) = self.legend(
      runs, splits: splits.filter(drawnSplits.contains), width: width)
    let height = top + plotHeight + 50 + legendHeight
    return """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(format(width))" height="\(format(height))" \
      viewBox="0 0 \(format(width)) \(format(height))" font-family="sans-serif" font-size="12">
      <rect width="\(format(width))" height="\(format(height))" fill="white"/>
      \(body)\(legend)</svg>

      """
  }

  /// At most `limit` elements of `xs`, evenly spaced, the first and the last among them (a
  /// 340-pixel-wide chart shows no more; a run of 100 000 epochs draws in milliseconds).
  public static func thinned<T>(_ xs: [T], limit: Int = 1000) -> [T] {
    guard xs.count > limit, limit >= 2 else { return xs }
    return (0..<limit).map { xs[$0 * (xs.count - 1) / (limit - 1)] }
  }

  /// Twenty colours that tell runs apart (Tableau's 10, then their lighter pairs), so 20 runs
  /// never share one; beyond, colours repeat with a thicker line.
  static let colors = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
  ]

  /// Run `r`'s colour, the same in every panel and the legend.
  public static func color(run r: Int) -> String { colors[r % colors.count] }

  static func dash(_ split: Split) -> String {
    switch split {
    case .train: ""
    case .validation: " stroke-dasharray=\"7 4\""
    case .test: " stroke-dasharray=\"2 3\""
    }
  }

  /// One plot at `x`: frame, gridlines, round ticks, axis titles, series and markers.
  private static func panel(
    _ series: [Series], runs: [CurveRun], key: MetricName, log: Bool, x: Double
  ) -> String {
    let (w, h) = (plotWidth, plotHeight)
    let xs = series.flatMap { $0.points.map(\.0) }
    let ys = series.flatMap { $0.points.map(\.1) }
    let (x0, x1) = (xs.min() ?? 0, max(xs.max() ?? 1, (xs.min() ?? 0) + 1))
    let t = { (v: Double) in log ? Foundation.log10(v) : v }
    var (y0, y1) = (ys.map(t).min() ?? 0, ys.map(t).max() ?? 1)
    if y1 - y0 < 1e-12 { (y0, y1) = (y0 - 0.5, y1 + 0.5) }
    // Halved, differences of values near ±1.8e308 stay finite.
    let px = { (v: Double) in x + (v / 2 - x0 / 2) / (x1 / 2 - x0 / 2) * w }
    let py = { (v: Double) in top + h - (t(v) / 2 - y0 / 2) / (y1 / 2 - y0 / 2) * h }
    let title = key == .r2 ? "R²" : key.rawValue
    var out = "<g class=\"panel\" id=\"panel-\(key.rawValue)\">\n"
    out +=
      "<text x=\"\(format(x + w / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">\(title) per epoch\(log ? " (log scale)" : "")</text>\n"
    // Gridlines and tick labels at round values.
    for v in ticks(x0, x1, count: 6) {
      let gx = format(px(v))
      out +=
        "<line class=\"grid\" x1=\"\(gx)\" y1=\"\(format(top))\" x2=\"\(gx)\" y2=\"\(format(top + h))\" stroke=\"#e4e4e4\"/>\n"
      out +=
        "<text class=\"tick\" x=\"\(gx)\" y=\"\(format(top + h + 16))\" text-anchor=\"middle\">\(format(v))</text>\n"
    }
    let yTicks = log ? logTicks(y0, y1) : ticks(y0, y1, count: 6)
    for v in yTicks {
      let value = log ? pow(10, v) : v
      let gy = format(py(value))
      out +=
        "<line class=\"grid\" x1=\"\(format(x))\" y1=\"\(gy)\" x2=\"\(format(x + w))\" y2=\"\(gy)\" stroke=\"#e4e4e4\"/>\n"
      out +=
        "<text class=\"tick\" x=\"\(format(x - 5))\" y=\"\(format(py(value) + 4))\" text-anchor=\"end\">\(format(value))</text>\n"
    }
    out +=
      "<rect class=\"plot\" x=\"\(format(x))\" y=\"\(format(top))\" width=\"\(format(w))\" height=\"\(format(h))\" fill=\"none\" stroke=\"#888\"/>\n"
    out +=
      "<text x=\"\(format(x + w / 2))\" y=\"\(format(top + h + 34))\" text-anchor=\"middle\" fill=\"#444\">epoch</text>\n"
    out +=
      "<text x=\"\(format(x - 52))\" y=\"\(format(top + h / 2))\" text-anchor=\"middle\" fill=\"#444\" transform=\"rotate(-90 \(format(x - 52)) \(format(top + h / 2)))\">\(title)</text>\n"
    for s in series {
      let width = s.run >= colors.count ? 2.5 : 1.5
      let points = s.points.map { "\(format(px($0.0))),\(format(py($0.1)))" }.joined(separator: " ")
      let id = "\(runs[s.run].label)-\(s.split.rawValue)-\(key.rawValue)".map {
        $0.isLetter || $0.isNumber ? $0 : "-"
      }
      out +=
        "<polyline id=\"\(String(id))\" fill=\"none\" stroke=\"\(color(run: s.run))\" stroke-width=\"\(width)\"\(dash(s.split)) points=\"\(points)\"/>\n"
    }
    // Markers: the best epoch on the loss of the split it was chosen on (validation, else the
    // first drawn), and a vertical tick where an early stop ended the run.
    for (r, run) in runs.enumerated() {
      let mine = series.filter { $0.run == r }
      let chosen = mine.first { $0.split == .validation } ?? mine.first
      if let best = run.bestEpoch, let chosen,
        let point = chosen.points.min(by: { abs($0.0 - Double(best)) < abs($1.0 - Double(best)) })
      {
        out +=
          "<circle class=\"best\" cx=\"\(format(px(point.0)))\" cy=\"\(format(py(point.1)))\" r=\"4\" fill=\"none\" stroke=\"\(color(run: r))\" stroke-width=\"1.5\"><title>\(escape(run.label)): best epoch \(best)</title></circle>\n"
      }
      if let stop = run.stoppedEpoch, Double(stop) >= x0, Double(stop) <= x1 {
        let sx = format(px(Double(stop)))
        out +=
          "<line class=\"stop\" x1=\"\(sx)\" y1=\"\(format(top))\" x2=\"\(sx)\" y2=\"\(format(top + 10))\" stroke=\"\(color(run: r))\" stroke-width=\"2\"><title>\(escape(run.label)): early stop at epoch \(stop)</title></line>\n"
      }
    }
    return out + "</g>\n"
  }

  /// The legend below the panels: a swatch per run (wrapping into rows of `width`), then the
  /// line style of each split drawn; its height.
  private static func legend(_ runs: [CurveRun], splits: [Split], width: Double) -> (
    String, Double
  ) {
    var out = "<g class=\"legend\">\n"
    let y0 = top + plotHeight + 50
    var (cx, cy) = (left, y0)
    var items: [(String, String)] = runs.enumerated().map { r, run in
      let label = escape(String(run.label.prefix(40)))
      return (
        "<line x1=\"0\" y1=\"-4\" x2=\"18\" y2=\"-4\" stroke=\"\(color(run: r))\" stroke-width=\"3\"/><text x=\"24\" y=\"0\">\(label)</text>",
        label
      )
    }
    items += splits.map { split in
      (
        "<line x1=\"0\" y1=\"-4\" x2=\"18\" y2=\"-4\" stroke=\"#444\" stroke-width=\"1.5\"\(dash(split))/><text x=\"24\" y=\"0\" fill=\"#444\">\(split.rawValue)</text>",
        split.rawValue
      )
    }
    for (item, label) in items {
      let itemWidth = 34 + 7 * Double(label.count)
      if cx + itemWidth > width - 10, cx > left {
        (cx, cy) = (left, cy + 18)
      }
      out += "<g transform=\"translate(\(format(cx)) \(format(cy)))\">\(item)</g>\n"
      cx += itemWidth
    }
    return (out + "</g>\n", cy - y0 + 18)
  }

  /// Round tick values covering [a, b]: steps of 1, 2 or 5 × 10^k, about `count` of them.
  static func ticks(_ a: Double, _ b: Double, count: Int) -> [Double] {
    guard a.isFinite, b.isFinite, b > a else { return [a] }
    let raw = (b - a) / Double(max(1, count))
    let magnitude = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
    var out: [Double] = []
    var v = (a / step).rounded(.up) * step
    while v <= b + step * 1e-9, out.count < 50 {
      out.append(abs(v) < step * 1e-9 ? 0 : v)
      v += step
    }
    return out
  }

  /// Powers of ten between 10^a and 10^b (their exponents), with 2 and 5 times them when the
  /// range spans fewer than three decades.
  static func logTicks(_ a: Double, _ b: Double) -> [Double] {
    let decades = Array(Int(a.rounded(.down))...Int(b.rounded(.up)))
    let factors: [Double] = b - a < 3 ? [1, 2, 5] : [1]
    return decades.flatMap { d in factors.map { log10($0) + Double(d) } }.filter {
      $0 >= a - 1e-9 && $0 <= b + 1e-9
    }
  }

  static func format(_ v: Double) -> String { String(format: "%.4g", v) }

  /// Text for XML: markup characters as entities, and control characters (which XML 1.0 does
  /// not allow) as visible escapes.
  static func escape(_ s: String) -> String {
    safeText(s, limit: 200).replacingOccurrences(of: "&", with: "&amp;")
      .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
      .replacingOccurrences(of: "\"", with: "&quot;")
  }
}

/// The sweep view: the ranking metric of every run against each varied setting, one panel per
/// setting (numbers on a linear or, over two decades, a log axis; other values as categories),
/// drawn from sweep.json.
public enum SweepView {
  /// One run of the sweep: its setting values by path and its ranking metric.
  public struct Point: Sendable {
    public var values: [String: String]
    public var metric: Double
    public init(values: [String: String], metric: Double) {
      (self.values, self.metric) = (values, metric)
    }
  }

  /// The picture for `points` over `paths`, the metric named `metric`.
  public static func svg(_ points: [Point], paths: [String], metric: String) -> String {
    let (w, h, top, left, gap) = (300.0, 200.0, 40.0, 70.0, 60.0)
    let width = left + Double(paths.count) * (w + gap)
    let height = top + h + 50
    let ys = points.map(\.metric).filter(\.isFinite)
    var (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
    if y1 - y0 < 1e-12 { (y0, y1) = (y0 - 0.5, y1 + 0.5) }
    (y0, y1) = (y0 - (y1 - y0) * 0.06, y1 + (y1 - y0) * 0.06)  // points clear of the frame
    let py = { (v: Double) in top + h - (v - y0) / (y1 - y0) * h }
    var body = ""
    for (p, path) in paths.enumerated() {
      let x = left + Double(p) * (w + gap)
      let texts = points.map { $0.values[path] ?? "" }
      let numbers = texts.compactMap { Double($0) }
      let numeric = numbers.count == texts.count && !numbers.isEmpty
      let log =
        numeric && numbers.allSatisfy { $0 > 0 }
        && (numbers.max() ?? 1) > 100 * (numbers.min() ?? 1)
      let categories = Array(Set(texts)).sorted()
      let t = { (v: Double) in log ? Foundation.log10(v) : v }
      var (x0, x1) = (numbers.map(t).min() ?? 0, numbers.map(t).max() ?? 1)
      if x1 - x0 < 1e-12 { (x0, x1) = (x0 - 0.5, x1 + 0.5) }
      let px = { (text: String) -> Double in
        if numeric, let v = Double(text) { return x + 10 + (t(v) - x0) / (x1 - x0) * (w - 20) }
        let i = Double(categories.firstIndex(of: text) ?? 0)
        return x + (i + 0.5) / Double(max(1, categories.count)) * w
      }
      body += "<g class=\"sweep-panel\">\n"
      body +=
        "<rect class=\"plot\" x=\"\(f(x))\" y=\"\(f(top))\" width=\"\(f(w))\" height=\"\(f(h))\" fill=\"none\" stroke=\"#888\"/>\n"
      for v in Curves.ticks(y0, y1, count: 5) {
        body +=
          "<line class=\"grid\" x1=\"\(f(x))\" y1=\"\(f(py(v)))\" x2=\"\(f(x + w))\" y2=\"\(f(py(v)))\" stroke=\"#e4e4e4\"/><text x=\"\(f(x - 5))\" y=\"\(f(py(v) + 4))\" text-anchor=\"end\">\(f(v))</text>\n"
      }
      let labels: [String] =
        numeric
        ? (log
          ? Curves.logTicks(x0, x1).map { f(pow(10, $0)) } : Curves.ticks(x0, x1, count: 4).map(f))
        : categories
      for label in labels {
        body +=
          "<text x=\"\(f(px(label)))\" y=\"\(f(top + h + 16))\" text-anchor=\"middle\">\(escape(label))</text>\n"
      }
      body +=
        "<text x=\"\(f(x + w / 2))\" y=\"\(f(top + h + 34))\" text-anchor=\"middle\" fill=\"#444\">\(escape(path))\(log ? " (log)" : "")</text>\n"
      body +=
        "<text x=\"\(f(x + w / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">\(escape(metric)) against \(escape(path))</text>\n"
      for (r, point) in points.enumerated() where point.metric.isFinite {
        body +=
          "<circle class=\"run\" cx=\"\(f(px(texts[r])))\" cy=\"\(f(py(point.metric)))\" r=\"4\" fill=\"\(Curves.color(run: r))\"/>\n"
      }
      body += "</g>\n"
    }
    return """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" \
      viewBox="0 0 \(f(width)) \(f(height))" font-family="sans-serif" font-size="12">
      <rect width="\(f(width))" height="\(f(height))" fill="white"/>
      \(body)</svg>

      """
  }

  private static func f(_ v: Double) -> String { Curves.format(v) }
  private static func escape(_ s: String) -> String { Curves.escape(s) }
}

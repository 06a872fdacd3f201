// Learning curves as an SVG picture: the loss and the task's metric (accuracy, or R²) per epoch
// for the train, validation and test splits of one or more runs, drawn from their metrics.jsonl
// lines. Two panels side by side, one polyline per series (each with an `id` naming its run,
// split and quantity, so a test or a script can find it), a legend, and the range of each axis.

import Foundation

/// SVG learning curves.
public enum Curves {
  /// One series: its run, split and points (epoch, value).
  struct Series {
    var run: String
    var split: String
    var points: [(Double, Double)]
  }

  /// The picture for `runs` (a label and the epoch reports of its metrics.jsonl each).
  public static func svg(_ runs: [(label: String, epochs: [EpochReport])]) -> String {
    let metric: MetricName =
      runs.contains { r in r.epochs.contains { $0.validation?.accuracy ?? $0.test?.accuracy != nil }
      }
      ? .accuracy : .r2
    let panels: [(MetricName, String)] = [
      (.loss, "loss"), (metric, metric == .r2 ? "R²" : "accuracy"),
    ]
    var body = ""
    for (p, (key, title)) in panels.enumerated() {
      let series = runs.flatMap { run in
        Split.allCases.compactMap { split -> Series? in
          let points = run.epochs.compactMap { line -> (Double, Double)? in
            guard let v = line.value(key, on: split), v.isFinite else { return nil }
            return (Double(line.epoch), v)
          }
          return points.isEmpty
            ? nil : Series(run: run.label, split: split.rawValue, points: thinned(points))
        }
      }
      body += panel(series, title: title, key: key.rawValue, x: 60 + Double(p) * 420)
    }
    return """
      <svg xmlns="http://www.w3.org/2000/svg" width="860" height="360" viewBox="0 0 860 360" \
      font-family="sans-serif" font-size="12">
      <rect width="860" height="360" fill="white"/>
      \(body)</svg>

      """
  }

  /// At most `limit` elements of `xs`, evenly spaced, the first and the last among them (a
  /// 340-pixel-wide chart shows no more; a run of 100 000 epochs draws in milliseconds).
  public static func thinned<T>(_ xs: [T], limit: Int = 1000) -> [T] {
    guard xs.count > limit, limit >= 2 else { return xs }
    return (0..<limit).map { xs[$0 * (xs.count - 1) / (limit - 1)] }
  }

  private static let colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]

  /// One 340×260 chart at `x`, with axes, ranges, series and legend.
  private static func panel(_ series: [Series], title: String, key: String, x: Double) -> String {
    let (w, h, top) = (340.0, 240.0, 40.0)
    let xs = series.flatMap { $0.points.map(\.0) }
    let ys = series.flatMap { $0.points.map(\.1) }
    let (x0, x1) = (xs.min() ?? 0, max(xs.max() ?? 1, (xs.min() ?? 0) + 1))
    var (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
    if y1 - y0 < 1e-12 { (y0, y1) = (y0 - 0.5, y1 + 0.5) }
    // Halved, differences of values near ±1.8e308 stay finite.
    let px = { (v: Double) in x + (v / 2 - x0 / 2) / (x1 / 2 - x0 / 2) * w }
    let py = { (v: Double) in top + h - (v / 2 - y0 / 2) / (y1 / 2 - y0 / 2) * h }
    var out = "<g class=\"panel\" id=\"panel-\(key)\">\n"
    out +=
      "<text x=\"\(x + w / 2)\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">\(escape(title)) per epoch</text>\n"
    out +=
      "<rect x=\"\(x)\" y=\"\(top)\" width=\"\(w)\" height=\"\(h)\" fill=\"none\" stroke=\"#888\"/>\n"
    for (v, anchor, tx, ty) in [
      (y1, "end", x - 4, top + 4), (y0, "end", x - 4, top + h),
      (x0, "middle", x, top + h + 16), (x1, "middle", x + w, top + h + 16),
    ] {
      out += "<text x=\"\(tx)\" y=\"\(ty)\" text-anchor=\"\(anchor)\">\(format(v))</text>\n"
    }
    for (i, s) in series.enumerated() {
      let color = colors[i % colors.count]
      let dash =
        s.split == "train"
        ? "" : s.split == "validation" ? " stroke-dasharray=\"6 3\"" : " stroke-dasharray=\"2 2\""
      let points = s.points.map { "\(format(px($0.0))),\(format(py($0.1)))" }.joined(separator: " ")
      let id = "\(s.run)-\(s.split)-\(key)".map { $0.isLetter || $0.isNumber ? $0 : "-" }
      out +=
        "<polyline id=\"\(String(id))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"\(dash) points=\"\(points)\"/>\n"
      let ly = top + 14 + Double(i) * 14
      out +=
        "<text x=\"\(x + w - 6)\" y=\"\(ly)\" text-anchor=\"end\" fill=\"\(color)\">\(escape(s.run)) \(s.split)</text>\n"
    }
    return out + "</g>\n"
  }

  private static func format(_ v: Double) -> String { String(format: "%.4g", v) }

  /// Text for XML: markup characters as entities, and control characters (which XML 1.0 does
  /// not allow) as visible escapes.
  private static func escape(_ s: String) -> String {
    safeText(s, limit: 200).replacingOccurrences(of: "&", with: "&amp;")
      .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
      .replacingOccurrences(of: "\"", with: "&quot;")
  }
}

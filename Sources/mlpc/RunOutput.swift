// Terminal output of `mlpc run`: the progress bar, the per-epoch lines (names as in
// metrics.jsonl, numbers in fixed-width columns, real durations, the learning rate when it
// changes) and the periodic line that stands in for the bar on a pipe.

import Foundation
import MLPCore

/// An error printed as `error: message` with exit code 1.
struct CleanError: Error, CustomStringConvertible {
  var description: String
  var help: String?
  init(_ message: String, help: String? = nil) { (description, self.help) = (message, help) }
}

/// The progress bar's text, in Double throughout: no count of epochs or steps can overflow it,
/// and a rate or time that is not finite or too large to print shows as "?".
func progressLine(epoch: Int, step: Int, epochs: Int, steps: Int, elapsed: Double) -> String {
  let doneSteps = Double(epoch - 1) * Double(steps) + Double(step)
  let done = min(1, max(0, doneSteps / (Double(epochs) * Double(steps))))
  let rate = doneSteps / max(elapsed, 1e-9)
  let eta = done > 0 ? elapsed * (1 - done) / done : .infinity
  let width = 30
  let filled = Int(done * Double(width))
  let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
  let number = { (x: Double) in x.isFinite && x < 1e15 ? String(Int(x)) : "?" }
  return "\(bar) epoch \(epoch)/\(epochs) \(number(rate)) steps/s ETA \(number(eta))s"
}

/// A metric in a column of 10 characters: six decimals below 100, four below 10^5, else
/// scientific; the columns of successive lines stay aligned.
func column(_ x: Double) -> String {
  let a = abs(x)
  let text =
    !x.isFinite
    ? "\(x)"
    : a < 100
      ? String(format: "%.6f", x)
      : a < 1e5 ? String(format: "%.4f", x) : String(format: "%.3e", x)
  return String(repeating: " ", count: max(0, 10 - text.count)) + text
}

/// A duration in the unit that shows it: "850 µs", "12.3 ms", "2.41 s", "3 min 05 s".
func duration(_ seconds: Double) -> String {
  guard seconds.isFinite, seconds >= 0 else { return "?" }
  if seconds < 1e-3 { return String(format: "%.0f µs", seconds * 1e6) }
  if seconds < 1 { return String(format: "%.1f ms", seconds * 1e3) }
  if seconds < 60 { return String(format: "%.2f s", seconds) }
  let whole = Int(seconds.rounded())
  return String(format: "%d min %02d s", whole / 60, whole % 60)
}

/// The console line of one epoch, `epoch` padded to the width of `epochs`; `rate` when the
/// learning rate is to be shown.
func epochLine(_ r: EpochReport, epochs: Int, rate: Double?) -> String {
  let digits = String(epochs).count
  let number = String(repeating: " ", count: max(0, digits - String(r.epoch).count))
  var line = "epoch \(number)\(r.epoch)/\(epochs)  train_loss \(column(r.trainLoss))"
  for (name, e) in [("validation", r.validation), ("test", r.test)] {
    guard let e else { continue }
    line += "  \(name)_loss \(column(e.loss))"
    if let a = e.accuracy { line += "  \(name)_accuracy \(String(format: "%.4f", a))" }
    if let r2 = e.r2 { line += "  \(name)_r2 \(column(r2))" }
  }
  line += "  " + duration(r.seconds)
  if let rate { line += "  learning_rate \(fmt(rate))" }
  return line
}

/// Per-epoch lines (every `logEvery`-th, the first and the last), or a progress bar with rate
/// and ETA on a terminal; on a pipe, a line every `periodSeconds` inside long epochs.
final class ProgressDisplay {
  let quiet: Bool
  var epochs: Int
  var steps: Int
  let logEvery: Int
  let terminal = isatty(2) == 1
  let started = Date()
  let periodSeconds: Double
  private var lastDraw = Date.distantPast
  private var lastLine = Date()
  private var shownRate: Double?
  private var printed = false
  /// Where lines go (standard output; a test collects them).
  let write: (String) -> Void

  init(
    quiet: Bool, epochs: Int, steps: Int, logEvery: Int = 1, periodSeconds: Double = 30,
    write: @escaping (String) -> Void = { Console.out($0) }
  ) {
    (self.quiet, self.epochs, self.steps) = (quiet, epochs, steps)
    (self.logEvery, self.periodSeconds, self.write) = (max(1, logEvery), periodSeconds, write)
  }

  func step(epoch: Int, step: Int) {
    guard !quiet else { return }
    let now = Date()
    if terminal {
      guard now.timeIntervalSince(lastDraw) > 0.1 else { return }
      lastDraw = now
      let line = progressLine(
        epoch: epoch, step: step, epochs: epochs, steps: steps,
        elapsed: now.timeIntervalSince(started))
      Console.err("\r" + line + "\u{1B}[K")
    } else if now.timeIntervalSince(lastLine) >= periodSeconds {
      // No bar on a pipe: a line now and then shows the run is alive.
      lastLine = now
      write(
        "epoch \(epoch)/\(epochs) step \(step)/\(steps), \(duration(now.timeIntervalSince(started))) in\n"
      )
    }
  }

  func epoch(_ r: EpochReport) {
    guard !quiet else { return }
    guard !printed || r.epoch % logEvery == 0 || r.epoch == epochs else { return }
    // The rate on the first line and whenever it differs from the one last shown.
    let changed = r.learningRate != nil && r.learningRate != shownRate
    if changed { shownRate = r.learningRate }
    printed = true
    lastLine = Date()
    if terminal { Console.err("\r\u{1B}[K") }
    write(epochLine(r, epochs: epochs, rate: changed ? r.learningRate : nil) + "\n")
  }

  func finish() {
    if !quiet, terminal { Console.err("\r\u{1B}[K") }
  }
}

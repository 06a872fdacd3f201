// Terminal output of `mlpc run`: the progress bar and the per-epoch lines.

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

/// Per-epoch lines, or a progress bar with rate and ETA on a terminal.
final class ProgressDisplay {
  let quiet: Bool
  let epochs: Int
  let steps: Int
  let terminal = isatty(2) == 1
  let started = Date()
  private var lastDraw = Date.distantPast

  init(quiet: Bool, epochs: Int, steps: Int) {
    self.quiet = quiet
    self.epochs = epochs
    self.steps = steps
  }

  func step(epoch: Int, step: Int) {
    guard !quiet, terminal, Date().timeIntervalSince(lastDraw) > 0.1 else { return }
    lastDraw = Date()
    let line = progressLine(
      epoch: epoch, step: step, epochs: epochs, steps: steps,
      elapsed: Date().timeIntervalSince(started))
    Console.err("\r" + line + "\u{1B}[K")
  }

  func epoch(_ r: EpochReport) {
    guard !quiet else { return }
    var line = "epoch \(r.epoch)/\(epochs) train_loss \(fmt(r.trainLoss))"
    for (name, e) in [("val", r.validation), ("test", r.test)] {
      guard let e else { continue }
      line += " \(name)_loss \(fmt(e.loss))"
      if let a = e.accuracy { line += " \(name)_acc \(String(format: "%.4f", a))" }
      if let r2 = e.r2 { line += " \(name)_r2 \(fmt(r2))" }
    }
    line += String(format: " %.3fs", r.seconds)
    if terminal { Console.err("\r\u{1B}[K") }
    Console.out(line + "\n")
  }

  func finish() {
    if !quiet, terminal { Console.err("\r\u{1B}[K") }
  }
}

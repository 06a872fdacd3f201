// Files and terminal output of `mlpc run`.

import Foundation
import MLPCore

/// Writes the files of a run into its staging directory: metrics.jsonl as epochs finish, then
/// the model, summary, checkpoints and curves.
final class RunWriter {
  let run: RunDirectory
  private let metrics: FileHandle
  /// metrics.jsonl lines not written yet: written at most every 0.2 s (a write per epoch cost
  /// more than a W2 epoch's steps), and always before a checkpoint and when training ends.
  private var pending = Data()
  private var lastFlush = Date()

  init(_ run: RunDirectory) throws {
    self.run = run
    let path = run.file("metrics.jsonl")
    if !FileManager.default.fileExists(atPath: path) {
      _ = FileManager.default.createFile(atPath: path, contents: nil)
    }
    guard let handle = FileHandle(forWritingAtPath: path) else {
      throw CleanError("cannot write '\(path)'")
    }
    handle.seekToEndOfFile()
    metrics = handle
  }

  func append(_ report: EpochReport, now: Date) throws {
    pending.append(contentsOf: (report.metricsLine + "\n").utf8)
    if now.timeIntervalSince(lastFlush) >= 0.2 || pending.count >= 1 << 16 {
      try flushMetrics(now: now)
    }
  }

  /// Writes the pending metrics lines.
  func flushMetrics(now: Date = Date()) throws {
    lastFlush = now
    guard !pending.isEmpty else { return }
    do { try metrics.write(contentsOf: pending) } catch {
      throw CleanError("cannot write '\(run.file("metrics.jsonl"))': \(causeInWords(error))")
    }
    pending.removeAll(keepingCapacity: true)
  }

  /// Keeps the metrics lines of epochs before `epoch` (a resumed run writes the rest again);
  /// returns them, parsed.
  func truncateMetrics(before epoch: Int) throws -> [[String: Any]] {
    let kept = Curves.metrics(ofRun: run.staging).filter { ($0["epoch"] as? Int ?? 0) < epoch }
    try metrics.truncate(atOffset: 0)
    for line in kept { try metrics.write(contentsOf: Data((jsonLine(line) + "\n").utf8)) }
    return kept
  }

  func write(_ data: Data, _ name: String) throws {
    let path = run.file(name)
    do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
      throw CleanError("cannot write '\(path)': \(causeInWords(error))")
    }
  }

  func write(json object: [String: Any], _ name: String) throws {
    try write(Data((jsonDocument(object) + "\n").utf8), name)
  }

  /// Writes `checkpoint` into checkpoints/ and keeps the `keep` latest epoch checkpoints (and
  /// every one taken inside an epoch, which only an interruption writes).
  func checkpoint(_ checkpoint: Checkpoint, keep: Int) throws {
    try flushMetrics()
    let folder = run.file("checkpoints")
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try write(checkpoint.encode(), "checkpoints/" + checkpoint.fileName)
    let boundaries = RunWriter.checkpoints(in: folder).filter {
      $0.hasSuffix("step-000000.safetensors")
    }
    for old in boundaries.dropLast(keep) {
      try? FileManager.default.removeItem(atPath: folder + "/" + old)
    }
  }

  /// Checkpoint file names in `folder`, oldest first.
  static func checkpoints(in folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
      .filter { $0.hasPrefix("epoch-") && $0.hasSuffix(".safetensors") }.sorted()
  }
}

/// An error printed as `error: message` with exit code 1.
struct CleanError: Error, CustomStringConvertible {
  var description: String
  init(_ message: String) { description = message }
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

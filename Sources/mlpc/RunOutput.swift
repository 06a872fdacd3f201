// Files and terminal output of `mlpc run`.

import Foundation
import MLPCore

/// Writes a run directory: metrics.jsonl as epochs finish, then the model and summary.
final class RunWriter {
  let directory: String
  private let metrics: FileHandle

  init(directory: String) throws {
    self.directory = directory
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw CleanError("cannot create run directory '\(directory)': \(error.localizedDescription)")
    }
    let path = directory + "/metrics.jsonl"
    guard FileManager.default.createFile(atPath: path, contents: nil),
      let handle = FileHandle(forWritingAtPath: path)
    else { throw CleanError("cannot write '\(path)'") }
    metrics = handle
  }

  func append(_ report: EpochReport) throws {
    try metrics.write(contentsOf: Data((jsonLine(report.dictionary) + "\n").utf8))
  }

  func model(_ executor: Executor, _ spec: CheckedSpec) throws {
    let data = Model.encode(spec, executor)
    try write(data, "model.safetensors")
  }

  func summary(
    _ spec: CheckedSpec, _ trainer: Trainer, last: EpochReport?, status: String, seconds: Double,
    epochs: Int
  ) throws {
    var s: [String: Any] = [
      "name": spec.name, "spec": spec.file, "status": status, "epochs_planned": epochs,
      "epochs_completed": last?.epoch ?? 0, "seconds": seconds,
      "parameters": trainer.plan.parameterCount, "train_samples": spec.data.train.count,
    ]
    if let last {
      s["train_loss"] = last.trainLoss
      if let v = last.validation { s["validation"] = v.dictionary }
      if let t = last.test { s["test"] = t.dictionary }
    }
    try write(Data((jsonLine(s) + "\n").utf8), "summary.json")
  }

  private func write(_ data: Data, _ name: String) throws {
    let path = directory + "/" + name
    do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
      throw CleanError("cannot write '\(path)': \(error.localizedDescription)")
    }
  }
}

/// An error printed as `error: message` with exit code 1.
struct CleanError: Error, CustomStringConvertible {
  var description: String
  init(_ message: String) { description = message }
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
    let done = Double((epoch - 1) * steps + step) / Double(epochs * steps)
    let elapsed = Date().timeIntervalSince(started)
    let rate = Double((epoch - 1) * steps + step) / max(elapsed, 1e-9)
    let eta = done > 0 ? elapsed * (1 - done) / done : 0
    let width = 30
    let filled = Int(done * Double(width))
    let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
    Console.err("\r\(bar) epoch \(epoch)/\(epochs) \(Int(rate)) steps/s ETA \(Int(eta))s\u{1B}[K")
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

// `mlpc run SPEC`: check → plan → train → evaluate, printing one line per epoch (or a progress
// bar on a terminal) and writing model.safetensors, metrics.jsonl and summary.json.

import ArgumentParser
import Foundation
import MLPCore
import Synchronization

/// Set by SIGINT; training stops after the current batch.
let interruptRequested = Atomic<Bool>(false)

extension MLPCCommand {
  struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Train the network a spec describes and write the trained model.")

    @Argument(help: "The spec file.")
    var spec: String

    @Option(help: "Run directory (default: runs/<name> beside the spec).")
    var out: String?

    @Option(help: "Override the spec's number of epochs.")
    var epochs: Int?

    @Flag(name: .shortAndLong, help: "Print only the final result.")
    var quiet = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
      if let epochs, epochs < 1 || epochs > 10_000_000 {
        throw ValidationError("--epochs must be between 1 and 10000000")
      }
      if let problem = GemmBackend.environmentProblem { throw ValidationError(problem) }
    }

    func run() throws {
      guard let checked = loadChecked(spec, options: output) else { throw ExitCode.failure }
      let directory = out ?? runDirectory(for: checked)
      let writer = try RunWriter(directory: directory)
      let trainer = Trainer(checked)
      let total = epochs ?? checked.training.epochs
      let progress = ProgressDisplay(quiet: quiet, epochs: total, steps: trainer.stepsPerEpoch)
      installInterruptHandler()
      let started = Date()
      var last: EpochReport?
      var stop: TrainingStop?
      for epoch in 1...total {
        let t0 = Date()
        let loss: Double
        do {
          loss = try trainer.runEpoch(
            epoch, shouldStop: { interruptRequested.load(ordering: .relaxed) },
            progress: { progress.step(epoch: epoch, step: $0) })
        } catch {
          stop = error
          break
        }
        let report = EpochReport(
          epoch: epoch, trainLoss: loss, validation: checked.data.validation.map(trainer.evaluate),
          test: checked.data.test.map(trainer.evaluate), seconds: Date().timeIntervalSince(t0),
          steps: trainer.stepsPerEpoch)
        try writer.append(report)
        progress.epoch(report)
        last = report
        if interruptRequested.load(ordering: .relaxed) {
          stop = .interrupted(epoch: epoch, step: trainer.stepsPerEpoch)
          break
        }
      }
      progress.finish()
      try finish(
        checked, trainer, writer, last: last, stop: stop,
        seconds: Date().timeIntervalSince(started), total: total)
    }

    private func finish(
      _ spec: CheckedSpec, _ trainer: Trainer, _ writer: RunWriter, last: EpochReport?,
      stop: TrainingStop?,
      seconds: Double, total: Int
    ) throws {
      var status = "completed"
      switch stop {
      case .nonFinite(let epoch, let step)?:
        reportError(
          "loss became NaN or infinite at epoch \(epoch), step \(step); training stopped",
          help: "lower 'training.learning_rate' or set 'data.standardize: true'")
        try writer.summary(
          spec, trainer, last: last, status: "diverged at epoch \(epoch) step \(step)",
          seconds: seconds, epochs: total)
        throw ExitCode.failure
      case .interrupted(let epoch, let step)?:
        status = "interrupted at epoch \(epoch) step \(step)"
        Console.err("interrupted at epoch \(epoch), step \(step); saving what was trained\n")
      case nil: break
      }
      try writer.model(trainer.executor, spec)
      let train = trainer.evaluate(spec.data.train)
      try writer.summary(
        spec, trainer, last: last, status: status, seconds: seconds, epochs: total)
      Console.out(resultLine(last, train: train) + "\n")
      Console.out("wrote \(writer.directory)/model.safetensors, metrics.jsonl, summary.json\n")
      if stop != nil { throw ExitCode(130) }
    }

    private func runDirectory(for spec: CheckedSpec) -> String {
      let folder = (self.spec as NSString).deletingLastPathComponent
      let runs = folder.isEmpty ? "runs" : (folder as NSString).appendingPathComponent("runs")
      // The name is the user's text: keep it to one path component.
      let safe = spec.name.map { $0 == "/" || $0 == "\\" ? "_" : $0 }
      let component = String(safe).trimmingCharacters(in: CharacterSet(charactersIn: "."))
      return (runs as NSString).appendingPathComponent(component.isEmpty ? "run" : component)
    }

    private func resultLine(_ report: EpochReport?, train: Evaluation) -> String {
      guard let report else { return "no epoch finished" }
      var line = "\(report.epoch) epochs"
      for (name, e) in [("train", train), ("validation", report.validation), ("test", report.test)]
      {
        guard let e else { continue }
        line += ", \(name) loss \(fmt(e.loss))"
        if let a = e.accuracy { line += ", \(name) accuracy \(String(format: "%.2f", a * 100)) %" }
        if let r2 = e.r2 { line += ", \(name) R² \(fmt(r2)), MAE \(fmt(e.mae ?? .nan))" }
      }
      return line
    }
  }
}

func fmt(_ x: Double) -> String { String(format: "%.4g", x) }

/// First Ctrl-C: finish the batch and save. Second: leave at once.
func installInterruptHandler() {
  // A parent may have blocked SIGINT (spawned processes inherit the mask); unblock it.
  var set = sigset_t()
  sigemptyset(&set)
  sigaddset(&set, SIGINT)
  pthread_sigmask(SIG_UNBLOCK, &set, nil)
  signal(SIGINT) { _ in
    if interruptRequested.exchange(true, ordering: .relaxed) { _exit(130) }
  }
}

// `early_stopping.refit`: once early stopping has chosen the epochs, the run trains a new network
// from the same start on the training and validation rows for that many epochs and saves it.
// Checked against the same network trained on a CSV file of those rows (another path through
// the checker), and resumed from inside the second training, byte for byte.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct RefitTests {
  /// 48 training rows in batches of 8, 16 held out; early stopping with little patience.
  static let text = """
    task: classification
    input: 2
    layers:
      - {units: 6, activation: tanh}
      - {units: 2, activation: softmax}
    data: {generator: xor, samples: 64, validation_split: 0.25}
    training:
      epochs: 40
      batch_size: 8
      learning_rate: 1.0
      optimizer: adam
      seed: 3
      checkpoint: {every: 3}
      early_stopping: {monitor: validation_loss, patience: 2, refit: true}
    """

  static func checked(_ text: String, _ file: String, _ overrides: [String] = []) throws
    -> CheckedSpec
  {
    let result = Checker.check(text: text, file: file, overrides: SpecOverride.list(overrides))
    return try #require(result.spec, "\(result.diagnostics)")
  }

  /// The model's tensors by name.
  static func tensors(_ run: String) throws -> [String: [Float]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors"))
    let (tensors, _) = try #require(Safetensors.decode(data))
    return Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.values) })
  }

  static func run(_ spec: CheckedSpec, into dir: String, _ events: SessionEvents = SessionEvents())
    throws -> RunOutcome
  {
    try TrainingSession(
      spec, specPath: spec.file, directory: try RunDirectory(dir, existing: .refuse)
    ).train(events)
  }

  @Test func theModelIsTheNetworkTrainedOnEveryRowForTheBestEpochs() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec = try Self.checked(Self.text, dir + "/s.yaml")
    var refitting: (epochs: Int, rows: Int)?
    var events = SessionEvents()
    events.refitting = { epochs, rows, _ in refitting = (epochs, rows) }
    let outcome = try Self.run(spec, into: dir + "/run", events)
    let s = outcome.summary
    let best = try #require(s.bestEpoch)
    let after = try #require(s.refitAfter)
    // Early stopping stopped the first training before its 40 epochs, after its best.
    #expect(after < 40 && best < after && s.stoppedBecause != nil)
    #expect(refitting?.epochs == best && refitting?.rows == 64 && s.refitSamples == 64)
    #expect(outcome.ending == .completed && s.epochsCompleted == after + best)
    #expect(s.restoredEpoch == nil)

    // metrics.jsonl: the first training's epochs with validation metrics, then the second's,
    // numbered on, without them.
    let lines = EpochReport.lines(ofFile: dir + "/run/metrics.jsonl")
    #expect(lines.map(\.epoch) == Array(1...(after + best)))
    #expect(lines.prefix(after).allSatisfy { $0.validation != nil })
    #expect(lines.dropFirst(after).allSatisfy { $0.validation == nil })
    // The summary's validation metrics are the best epoch's of the first training.
    #expect(s.evaluations[.validation] == lines[best - 1].validation)

    // The same rows in the same order, training rows then validation rows, written to a CSV
    // file and trained on for `best` epochs from the same seed: the same weights.
    var csv = "a,b,label\n"
    for d in [spec.data.train, try #require(spec.data.validation)] {
      for r in 0..<d.count {
        let label = try #require(d.labels)[r]
        csv += "\(d.features[2 * r]),\(d.features[2 * r + 1]),\(label)\n"
      }
    }
    try csv.write(toFile: dir + "/rows.csv", atomically: true, encoding: .utf8)
    let plain = """
      task: classification
      input: 2
      layers:
        - {units: 6, activation: tanh}
        - {units: 2, activation: softmax}
      data: {train: rows.csv, target: label}
      training: {epochs: \(best), batch_size: 8, learning_rate: 1.0, optimizer: adam, seed: 3}
      """
    _ = try Self.run(try Self.checked(plain, dir + "/plain.yaml"), into: dir + "/plain")
    let refit = try Self.tensors(dir + "/run")
    let same = try Self.tensors(dir + "/plain")
    #expect(!refit.isEmpty && refit == same)
    // And not the first training's best weights.
    let unrefit = try Self.checked(
      Self.text, dir + "/s.yaml", ["training.early_stopping.refit=false"])
    _ = try Self.run(unrefit, into: dir + "/first")
    let first = try Self.tensors(dir + "/first")
    #expect(first != refit)

    // A first training that runs all its epochs (2 here) is refitted too, and did not stop early.
    let short = try TrainingSession(
      spec, specPath: spec.file, directory: try RunDirectory(dir + "/short", existing: .refuse),
      epochs: 2
    ).train()
    #expect(short.summary.refitAfter == 2 && short.summary.stoppedBecause == nil)
    #expect(short.summary.epochsCompleted == 2 + (short.summary.bestEpoch ?? 0))
  }

  /// Stopped inside the second training (at its start, and after two of its epochs) and resumed:
  /// the same model as without the stop.
  @Test(arguments: [0, 2]) func aStopInTheSecondTrainingIsResumedExactly(_ epochsIn: Int) throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec = try Self.checked(Self.text, dir + "/s.yaml")
    _ = try Self.run(spec, into: dir + "/whole")

    var refitting = false
    var done = 0
    var events = SessionEvents()
    events.refitting = { _, _, _ in refitting = true }
    events.epoch = { _ in if refitting { done += 1 } }
    events.shouldStop = { refitting && done >= epochsIn }
    let stopped = try Self.run(spec, into: dir + "/run", events)
    guard case .interrupted = stopped.ending else {
      Issue.record("not interrupted: \(stopped.ending)")
      return
    }
    let after = try #require(stopped.summary.refitAfter)
    #expect(stopped.summary.epochsCompleted == after + epochsIn)

    let session = try TrainingSession(
      resuming: try RunDirectory(dir + "/run", existing: .resume), runPath: dir + "/run",
      epochs: nil
    ) { text, file, overrides, fold in
      Checker.check(text: text, file: file, overrides: overrides, fold: fold).spec
    }
    #expect(session.refitAfter == after)
    let resumed = try session.train()
    #expect(resumed.ending == .completed && resumed.summary.refitAfter == after)
    let (model, wholeModel) = (try Self.tensors(dir + "/run"), try Self.tensors(dir + "/whole"))
    #expect(model == wholeModel)
    let lines = EpochReport.lines(ofFile: dir + "/run/metrics.jsonl")
    #expect(lines.map(\.epoch) == Array(1...resumed.summary.epochsCompleted))
    let whole = try #require(
      JSONRecord.decode(
        RunSummary.self,
        from: try Data(contentsOf: URL(fileURLWithPath: dir + "/whole/summary.json"))))
    #expect(resumed.summary.evaluations == whole.evaluations)
    #expect(resumed.summary.stoppedBecause != nil)
    #expect(resumed.summary.stoppedBecause == whole.stoppedBecause)
    // config.json keeps the run's asked-for epochs.
    let config = try #require(
      JSONRecord.decode(
        RunConfiguration.self,
        from: try Data(contentsOf: URL(fileURLWithPath: dir + "/run/config.json"))))
    #expect(config.epochs == 40)

    // A finished refit cannot be continued: there is nothing left of its epochs to train.
    #expect(throws: SessionError.self) {
      try TrainingSession(
        resuming: try RunDirectory(dir + "/run", existing: .resume), runPath: dir + "/run",
        epochs: nil
      ) { text, file, overrides, fold in
        Checker.check(text: text, file: file, overrides: overrides, fold: fold).spec
      }
    }
  }

  @Test func refitNeedsAValidationMonitorAndNoValidationPlateau() {
    let monitor = Checker.check(
      text: Self.text, file: "s.yaml",
      overrides: SpecOverride.list(["training.early_stopping.monitor=train_loss"]))
    #expect(
      monitor.diagnostics.contains {
        $0.code == .conflict && $0.message.contains("'refit'") && $0.location?.line == 14
      }, "\(monitor.diagnostics)")
    let plateau = Checker.check(
      text: Self.text, file: "s.yaml",
      overrides: SpecOverride.list(["training.schedule.type=plateau"]))
    #expect(
      plateau.diagnostics.contains { $0.code == .conflict && $0.message.contains("plateau") },
      "\(plateau.diagnostics)")
    #expect(Checker.check(text: Self.text, file: "s.yaml").spec != nil)
  }
}

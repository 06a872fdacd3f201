// The run as a library call: a TrainingSession trains a checked spec, reports each epoch, stops
// when asked, and returns the summary it writes; the records round-trip through JSONRecord.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct SessionTests {
  static func session(_ dir: String, epochs: Int? = nil) throws -> TrainingSession {
    // KeyBindingTests' xor spec: 48 training rows in batches of 8, 16 held out.
    let result = Checker.check(
      text: KeyBindingTests.text, file: Repository.path("specs/s.yaml"),
      overrides: SpecOverride.list([
        "training.epochs=5", "training.learning_rate=0.3", "training.seed=2",
      ]))
    let spec = try #require(result.spec, "\(result.diagnostics)")
    return try TrainingSession(
      spec, specPath: "specs/s.yaml", directory: try RunDirectory(dir, existing: .refuse),
      epochs: epochs)
  }

  @Test func aSessionReturnsTheSummaryItWrites() throws {
    let dir = Repository.temporaryDirectory() + "/run"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var epochs: [Int] = []
    var events = SessionEvents()
    events.epoch = { epochs.append($0.epoch) }
    let outcome = try Self.session(dir).train(events)
    #expect(outcome.ending == .completed && epochs == [1, 2, 3, 4, 5])
    #expect(outcome.directory == dir && outcome.files.contains("model.safetensors"))
    let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/summary.json"))
    let written = try #require(JSONRecord.decode(RunSummary.self, from: data))
    #expect(written.epochsCompleted == 5 && written.status == "completed")
    let validation = try #require(outcome.summary.evaluations[.validation])
    #expect(written.evaluations[.validation] == validation)
    #expect(written.lastEpoch?.epoch == 5)
    // The configuration reads back, as resume reads it.
    let config = try Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))
    let decoded = try #require(JSONRecord.decode(RunConfiguration.self, from: config))
    #expect(decoded.epochs == 5 && decoded.data.validationSamples == 16)
    #expect(decoded.model?.training["training"]?["learning_rate"] == .number(0.3))
  }

  @Test func aStopRequestEndsTheRunAndSavesIt() throws {
    let dir = Repository.temporaryDirectory() + "/run"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var finished = 0
    var events = SessionEvents()
    events.epoch = { _ in finished += 1 }
    events.shouldStop = { finished >= 2 }
    let outcome = try Self.session(dir).train(events)
    #expect(outcome.ending == .interrupted(epoch: 2, step: 6))
    #expect(outcome.summary.epochsCompleted == 2)
    #expect(FileManager.default.fileExists(atPath: dir + "/model.safetensors"))
  }

  @Test func theBestMetricKeepsItsName() throws {
    var summary = RunSummary(
      name: "n", spec: "s.yaml", status: "early stopped", epochsPlanned: 9, epochsCompleted: 4,
      seconds: 1.5, parameters: 20, trainSamples: 48)
    (summary.bestEpoch, summary.best) = (3, (.validationAccuracy, 0.875))
    summary.evaluations[.train] = Evaluation(loss: 0.25, accuracy: 1)
    let text = JSONRecord.line(summary)
    #expect(text.contains("\"best_validation_accuracy\":0.875"))
    let back = try #require(JSONRecord.decode(RunSummary.self, from: Data(text.utf8)))
    #expect(back.best?.metric == .validationAccuracy && back.best?.value == 0.875)
    #expect(back.evaluations == summary.evaluations && back.bestEpoch == 3)
  }

  @Test func nonFiniteNumbersAreNullAndListed() throws {
    let text = JSONRecord.line(Evaluation(loss: .infinity, accuracy: .nan))
    #expect(text == #"{"accuracy":null,"loss":null,"non_finite":["accuracy","loss"]}"#)
    let back = try #require(JSONRecord.decode(Evaluation.self, from: Data(text.utf8)))
    #expect(back.loss.isNaN && back.accuracy == nil)
  }

  @Test func formatTwoSettingsAreReadAsStrings() throws {
    let json = """
      {"format":2,"mlpc_version":"0.2.0","name":"n","task":"regression","loss":"mse","input":1,
       "features":["x"],"layers":[{"name":"l","units":1,"activation":"identity","parameters":{}}],
       "targets":["y"],"standardized":false,"training":{"epochs":"5","optimizer":"sgd"},"spec":""}
      """
    let d = try JSONDecoder().decode(ModelDescription.self, from: Data(json.utf8))
    #expect(d.training == ["training": ["epochs": .string("5"), "optimizer": .string("sgd")]])
  }
}

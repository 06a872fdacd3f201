// Learning-rate schedules against PyTorch's torch.optim.lr_scheduler (fixture written by
// scripts/schedule_torch.py): every case's settings go through a spec and the checker, then the
// rate of every epoch is compared, the plateau cases fed the fixture's metric sequence. Then a
// real training run: the rate in each report, the rate the update used, and a resumed plateau.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

struct ScheduleCase: Decodable, CustomTestStringConvertible, Sendable {
  var name: String
  var type: String
  var learningRate: Double
  var epochs: Int
  var stepSize: Int?
  var gamma: Double?
  var minLearningRate: Double?
  var warmupEpochs: Int?
  var warmupStartFactor: Double?
  var monitor: String?
  var factor: Double?
  var patience: Int?
  var threshold: Double?
  var cooldown: Int?
  var rates: [Double]
  var testDescription: String { name }

  enum CodingKeys: String, CodingKey {
    case name, type, epochs, gamma, monitor, factor, patience, threshold, cooldown, rates
    case learningRate = "learning_rate"
    case stepSize = "step_size"
    case minLearningRate = "min_learning_rate"
    case warmupEpochs = "warmup_epochs"
    case warmupStartFactor = "warmup_start_factor"
  }

  /// The `training.schedule` mapping of this case, in flow style.
  var scheduleYAML: String {
    var entries = ["type: \(type)"]
    let optional: [(String, String?)] = [
      ("step_size", stepSize.map { "\($0)" }), ("gamma", gamma.map { "\($0)" }),
      ("min_learning_rate", minLearningRate.map { "\($0)" }),
      ("warmup_epochs", warmupEpochs.map { "\($0)" }),
      ("warmup_start_factor", warmupStartFactor.map { "\($0)" }), ("monitor", monitor),
      ("factor", factor.map { "\($0)" }), ("patience", patience.map { "\($0)" }),
      ("threshold", threshold.map { "\($0)" }), ("cooldown", cooldown.map { "\($0)" }),
    ]
    for (key, value) in optional {
      if let value { entries.append("\(key): \(value)") }
    }
    return "{" + entries.joined(separator: ", ") + "}"
  }
}

struct ScheduleFixture: Decodable, Sendable {
  var metricValidationLoss: [Double]
  var metricValidationAccuracy: [Double]
  var cases: [ScheduleCase]

  enum CodingKeys: String, CodingKey {
    case cases
    case metricValidationLoss = "metric_validation_loss"
    case metricValidationAccuracy = "metric_validation_accuracy"
  }

  static let loaded: ScheduleFixture = {
    let data =
      FileManager.default.contents(atPath: Repository.path("Tests/Fixtures/schedules_torch.json"))
      ?? Data()
    return (try? JSONDecoder().decode(ScheduleFixture.self, from: data))
      ?? ScheduleFixture(metricValidationLoss: [], metricValidationAccuracy: [], cases: [])
  }()
}

/// A classification spec with a validation split and `schedule` under `training`.
private func scheduledSpec(_ schedule: String, learningRate: Double, epochs: Int) -> String {
  """
  task: classification
  input: 2
  layers: [{units: 6, activation: tanh}, {units: 3, activation: softmax}]
  data: {generator: blobs, classes: 3, samples: 90, validation_split: 0.2}
  training: {epochs: \(epochs), learning_rate: \(learningRate), batch_size: 16, schedule: \(schedule)}
  """
}

@Suite struct ScheduleTests {
  @Test func theFixtureHasEveryScheduleType() {
    let types = Set(ScheduleFixture.loaded.cases.map(\.type))
    #expect(types == Set(ScheduleKind.allCases.map(\.rawValue)))
  }

  @Test(arguments: ScheduleFixture.loaded.cases)
  func ratesEqualPyTorch(_ c: ScheduleCase) throws {
    let result = checkSpec(
      scheduledSpec(c.scheduleYAML, learningRate: c.learningRate, epochs: c.epochs))
    #expect(!result.diagnostics.hasErrors, "\(result.diagnostics)")
    let spec = try #require(result.spec)
    var scheduler = LearningRateScheduler(spec.training.schedule, base: c.learningRate)
    let fixture = ScheduleFixture.loaded
    let metric =
      c.monitor == "validation_accuracy"
      ? fixture.metricValidationAccuracy : fixture.metricValidationLoss
    #expect(c.rates.count == c.epochs)
    for (i, expected) in c.rates.enumerated() {
      let epoch = i + 1
      let rate = scheduler.rate(epoch: epoch)
      #expect(
        abs(rate - expected) <= 1e-12 * expected, "epoch \(epoch): \(rate) vs PyTorch \(expected)")
      let value = i < metric.count ? metric[i] : metric.last!
      let evaluation =
        c.monitor == "validation_accuracy"
        ? Evaluation(loss: 0, accuracy: value) : Evaluation(loss: value)
      scheduler.observe(
        EpochReport(
          epoch: epoch, trainLoss: 0, validation: evaluation, test: nil, seconds: 0, steps: 1))
    }
  }

  /// The trainer sets each epoch's rate on the executor and reports it; a plateau's record
  /// survives a checkpoint, so a resumed run continues with the same rates.
  @Test func trainingUsesAndReportsTheRate() throws {
    let text = scheduledSpec(
      "{type: plateau, patience: 0, factor: 0.5, threshold: 0.5, warmup_epochs: 2}",
      learningRate: 0.2, epochs: 8)
    let spec = try #require(checkSpec(text).spec)
    let data = try #require(spec.data.validation)
    let trainer = Trainer(spec)
    var rates: [Double] = []
    var resumedRates: [Double] = []
    var saved: Checkpoint?
    for epoch in 1...8 {
      let report = try trainer.reportedEpoch(epoch, validation: data, test: nil)
      let rate = try #require(report.learningRate)
      #expect(Double(trainer.learningRate) == Double(Float(rate)))
      rates.append(rate)
      if epoch == 4 { saved = trainer.checkpoint(nextEpoch: 5) }
    }
    // Warm-up from 0.02, then halved after every epoch that improves by less than 50 %.
    #expect(rates[0] == 0.2 * 0.1 && rates[1] == 0.2 * 0.55 && rates[2] == 0.2)
    #expect(rates.last! < 0.2, "\(rates)")
    let checkpoint = try #require(saved.flatMap { Checkpoint.decode($0.encode()) })
    #expect(checkpoint.plateau != nil)
    let resumed = Trainer(spec)
    resumed.restore(checkpoint)
    for epoch in 5...8 {
      resumedRates.append(
        try #require(try resumed.reportedEpoch(epoch, validation: data, test: nil).learningRate))
    }
    #expect(resumedRates == Array(rates[4...]))
  }

  @Test func keysTheTypeDoesNotReadAreWarned() {
    let result = checkSpec(
      scheduledSpec("{type: cosine, gamma: 0.5, patience: 3}", learningRate: 0.1, epochs: 5))
    let messages = result.diagnostics.map(\.message)
    #expect(messages.contains { $0.contains("'training.schedule.gamma' has no effect") })
    #expect(messages.contains { $0.contains("'training.schedule.patience' has no effect") })
  }

  @Test func plateauNeedsItsMetric() {
    let result = checkSpec(
      """
      task: classification
      input: 2
      layers: [{units: 3, activation: softmax}]
      data: {generator: blobs, classes: 3}
      training: {schedule: {type: plateau, monitor: validation_r2}}
      """)
    let messages = result.diagnostics.filter { $0.severity == .error }.map(\.message)
    #expect(messages.contains("'validation_r2' needs a validation split"), "\(messages)")
    #expect(messages.contains("'validation_r2' is not a metric of classification"))
  }

  @Test func aTypoInTheTypeGetsASuggestion() {
    let result = checkSpec(scheduledSpec("{type: cosin}", learningRate: 0.1, epochs: 5))
    #expect(
      result.diagnostics.contains { $0.help?.contains("did you mean 'cosine'") == true },
      "\(result.diagnostics)")
  }
}

/// A decaying schedule whose floor lies above the rate would raise it: refused where written.
@Test(arguments: ["cosine", "plateau", "step"])
func aFloorAboveTheRateIsRefused(_ type: String) throws {
  let result = checkSpec(
    scheduledSpec("{type: \(type), min_learning_rate: 0.5}", learningRate: 0.1, epochs: 5))
  let conflict = result.diagnostics.first { $0.code == .conflict }
  if type == "step" {
    #expect(conflict == nil && result.spec != nil)  // the step schedule has no floor
  } else {
    #expect(conflict?.message.contains("would raise the rate") == true)
    #expect(result.spec == nil)
  }
}

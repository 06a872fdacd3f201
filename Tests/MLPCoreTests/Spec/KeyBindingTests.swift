// Every training key is bound to the configuration field it sets, its value reaches the records,
// and the trainer reads it: completeness over the key table, a changed value seen in the
// resolved settings, and a changed value seen in the trained weights.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct KeyBindingTests {
  static let sections: [SpecSection] = [.training, .checkpoint, .earlyStopping, .schedule]
  static let bound: [(SpecSection, [KeyInfo])] = [
    (.training, TrainingConfig.bindings.map(\.info)),
    (.checkpoint, CheckpointSchedule.bindings.map(\.info)),
    (.earlyStopping, EarlyStopping.bindings.map(\.info)),
    (.schedule, ScheduleConfig.bindings.map(\.info)),
  ]

  /// Every value key of the training sections has exactly one binding, in its own section.
  @Test(arguments: sections) func everyKeyIsBoundOnce(_ section: SpecSection) {
    let declared = SpecKeys.keys(in: section).filter { !$0.kind.isSection }.map(\.name)
    let bindings = Self.bound.first { $0.0 == section }!.1
    #expect(bindings.allSatisfy { $0.section == section })
    #expect(
      bindings.map(\.name).sorted() == declared.sorted(), "declared but not bound, or bound twice")
  }

  static let text = """
    task: classification
    input: 2
    layers:
      - {units: 6, activation: tanh}
      - {units: 2, activation: softmax}
    data: {generator: xor, samples: 64, validation_split: 0.25}
    training: {epochs: 4, batch_size: 8, seed: 3}
    """

  static func check(_ overrides: [String]) -> CheckResult {
    Checker.check(
      text: text, file: Repository.path("specs/k.yaml"), overrides: SpecOverride.list(overrides))
  }

  /// Values of a key to try: in range, and different from a default.
  static func candidates(_ key: KeyInfo) -> [String] {
    switch key.kind {
    case .boolean: ["true", "false"]
    case .choice(let names): names
    case .integer: ["2", "5", "1", "0"]
    default: ["0.5", "0.25", "0.003", "2", "0.9999"]
    }
  }

  /// The overrides that put a section in place, so that its keys are read.
  static func setUp(_ section: SpecSection) -> [String] {
    switch section {
    case .checkpoint: ["training.checkpoint={}"]
    case .earlyStopping: ["training.early_stopping={}"]
    default: []
    }
  }

  /// Setting a key to another valid value changes what the records hold for it.
  @Test(arguments: bound.flatMap { s, keys in keys.map { (s, $0.name) } })
  func aValueReachesTheRecords(_ section: SpecSection, _ name: String) throws {
    let key = try #require(SpecKeys.keys(in: section).first { $0.name == name })
    let base = try #require(Self.check(Self.setUp(section)).spec)
    let sectionName = section == .earlyStopping ? "early_stopping" : section.rawValue
    let before = base.training.settings[sectionName]?[name]
    #expect(before != nil, "'\(name)' is not recorded")
    let path = section == .training ? "training.\(name)" : "training.\(sectionName).\(name)"
    let changed = Self.candidates(key).contains { value in
      let spec = Self.check(Self.setUp(section) + ["\(path)=\(value)"]).spec
      return spec.map { $0.training.settings[sectionName]?[name] != before } ?? false
    }
    #expect(changed, "no value of '\(path)' changed the recorded setting")
  }

  /// Keys whose effect two epochs of training cannot show, and where it is tested instead.
  static let notInTwoEpochs: Set<String> = [
    "epochs",  // the run's length: RunCommandTests, ResumeTests
    "tensorboard",  // what the run writes, not how it trains: TensorBoardTests
  ]

  /// Weights after two epochs with `overrides`, as the model would hold them (the moving
  /// average with `ema`).
  static func weights(_ overrides: [String]) throws -> [Float] {
    let spec = try #require(check(overrides).spec, "\(check(overrides).diagnostics)")
    let trainer = Trainer(spec)
    for epoch in 1...2 { _ = try trainer.runEpoch(epoch) }
    return trainer.executor.withAveragedParameters {
      trainer.plan.weights.flatMap { trainer.executor.values($0) }
    }
  }

  /// Every `training` key the trainer reads changes the trained weights, under an optimizer that
  /// reads it: a key that is bound but not consumed fails here.
  @Test(arguments: TrainingConfig.bindings.map(\.info.name).filter { !notInTwoEpochs.contains($0) })
  func aTrainingValueChangesTheWeights(_ name: String) throws {
    let key = try #require(SpecKeys.keys(in: .training).first { $0.name == name })
    let optimizer = OptimizerKind.allCases.first { $0.reads.contains(name) } ?? .momentum
    let fixed = ["training.optimizer=\(optimizer.rawValue)"]
    let base = try Self.weights(fixed)
    let changed = try Self.candidates(key).contains { value in
      guard Self.check(fixed + ["training.\(name)=\(value)"]).spec != nil else { return false }
      return try Self.weights(fixed + ["training.\(name)=\(value)"]) != base
    }
    #expect(changed, "no value of 'training.\(name)' changed the weights")
  }

  /// Schedule keys change the weights under a schedule type that reads them.
  @Test(arguments: [
    "type", "step_size", "gamma", "min_learning_rate", "warmup_epochs", "warmup_start_factor",
  ])
  func aScheduleValueChangesTheWeights(_ name: String) throws {
    let key = try #require(SpecKeys.keys(in: .schedule).first { $0.name == name })
    let type =
      switch name {
      case "step_size", "gamma": "step"
      case "min_learning_rate": "cosine"
      default: "exponential"
      }
    let fixed =
      ["training.learning_rate=0.1", "training.schedule.step_size=1"]
      + (name == "type" ? [] : ["training.schedule.type=\(type)"])
      + (name.hasPrefix("warmup_start") ? ["training.schedule.warmup_epochs=2"] : [])
    let base = try Self.weights(fixed)
    let changed = try Self.candidates(key).contains { value in
      let set = fixed + ["training.schedule.\(name)=\(value)"]
      guard Self.check(set).spec != nil else { return false }
      return try Self.weights(set) != base
    }
    #expect(changed, "no value of 'training.schedule.\(name)' changed the weights")
  }
}

// End-to-end training on the shipped specs: accuracy and R² targets, bit-identical runs for the
// same seed, and partial last batches that count every sample exactly once.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

func train(_ path: String, epochs: Int? = nil) throws -> (Trainer, CheckedSpec) {
  let result = Checker.check(file: Repository.path(path))
  let spec = try #require(result.spec, "\(result.diagnostics)")
  let trainer = Trainer(spec)
  for epoch in 1...(epochs ?? spec.training.epochs) { _ = try trainer.runEpoch(epoch) }
  return (trainer, spec)
}

@Suite struct TrainingTests {
  @Test func xorReachesFullAccuracy() throws {
    let (trainer, spec) = try train("specs/xor.yaml")
    #expect(trainer.evaluate(spec.data.train).accuracy == 1)
  }

  @Test func irisTestAccuracy() throws {
    let (trainer, spec) = try train("specs/iris.yaml")
    let test = try #require(spec.data.test)
    let accuracy = try #require(trainer.evaluate(test).accuracy)
    #expect(accuracy >= 0.95, "iris test accuracy \(accuracy)")
  }

  @Test func digitsTestAccuracy() throws {
    let (trainer, spec) = try train("specs/digits.yaml")
    let test = try #require(spec.data.test)
    let accuracy = try #require(trainer.evaluate(test).accuracy)
    #expect(accuracy >= 0.95, "digits test accuracy \(accuracy)")
  }

  /// scikit-learn's MLPRegressor with the same layers on the same split (scripts/sklearn_reference.py).
  @Test func diabetesMatchesScikitLearn() throws {
    let data = try #require(
      FileManager.default.contents(atPath: Repository.path("Tests/Fixtures/sklearn_reference.json"))
    )
    let json = try JSONSerialization.jsonObject(with: data)
    let reference = try #require(json as? [String: Any])
    let sklearnR2 = try #require(reference["diabetes_test_r2"] as? Double)
    let (trainer, spec) = try train("specs/diabetes.yaml")
    let test = try #require(spec.data.test)
    let r2 = try #require(trainer.evaluate(test).r2)
    #expect(r2 >= sklearnR2 - 0.03, "mlpc R² \(r2) vs scikit-learn \(sklearnR2)")
  }

  @Test func sameSeedGivesIdenticalWeights() throws {
    let file = { (epochs: Int) in
      let (trainer, spec) = try train("specs/spirals.yaml", epochs: epochs)
      return Model.encode(spec, trainer.executor)
    }
    let fileA = try file(3)
    #expect(try file(3) == fileA)
    #expect(try file(4) != fileA)
  }

  @Test func partialLastBatchCountsEverySampleOnce() throws {
    // 10 samples, batch 4: steps of 4, 4 and 2 rows. With a learning rate too small to move the
    // weights, the epoch's mean loss must equal the loss of one pass over all samples.
    let spec = """
      task: classification
      input: 2
      layers: [{units: 3, activation: tanh}, {units: 3, activation: softmax}]
      data: {generator: blobs, samples: 10}
      training: {batch_size: 4, learning_rate: 1e-30}
      """
    let checked = try #require(checkSpec(spec).spec)
    let trainer = Trainer(checked)
    #expect(trainer.stepsPerEpoch == 3)
    let before = trainer.evaluate(checked.data.train).loss
    let epochLoss = try trainer.runEpoch(1)
    #expect(abs(epochLoss - before) < 1e-6 * max(1, before))
  }

  @Test func divergenceStopsWithEpochAndStep() throws {
    let checked = try #require(checkSpec(divergingSpec).spec)
    let trainer = Trainer(checked)
    var stop: TrainingStop?
    do {
      for epoch in 1...5 { _ = try trainer.runEpoch(epoch) }
    } catch {
      stop = error
    }
    #expect(stop == .nonFinite(epoch: 1, step: 2))
  }
}

// `training.ema`: the run keeps a moving average of the weights, evaluates it every epoch, and
// writes it as the model; `mlpc plan` shows its buffer and update. (The average's updates equal
// PyTorch's AveragedModel in KnownAnswerTests; resuming keeps it exactly in InterruptTests.)

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct AveragedWeightsTests {
  @Test func theAverageIsEvaluatedAndSavedAsTheModel() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec = { (ema: String) in
      """
      task: classification
      input: 4
      layers: [{units: 16, activation: relu}, {units: 3, activation: softmax}]
      data: {train: \(Repository.path("specs/data/iris-train.csv")), test: \(Repository.path("specs/data/iris-test.csv")), target: species, standardize: true}
      training: {epochs: 40, batch_size: 8, optimizer: adam, learning_rate: 0.01, seed: 3\(ema)}
      """
    }
    try spec(", ema: 0.95").write(toFile: dir + "/ema.yaml", atomically: true, encoding: .utf8)
    try spec("").write(toFile: dir + "/plain.yaml", atomically: true, encoding: .utf8)
    let plan = try CommandRunner.mlpc(["plan", dir + "/ema.yaml"])
    #expect(
      plan.stdout.contains("parameters.average) ← moving average (decay 0.95)"), "\(plan.stdout)")
    for name in ["ema", "plain"] {
      let run = try CommandRunner.mlpc([
        "run", dir + "/\(name).yaml", "--quiet", "--out", dir + "/\(name)",
      ])
      #expect(run.status == 0, "\(run.stderr)")
    }
    // The same seed and steps: only the averaging differs, so the models differ.
    let a = try Model.load(dir + "/ema")
    let b = try Model.load(dir + "/plain")
    #expect(a.tensors["layer1.weight"]?.values != b.tensors["layer1.weight"]?.values)
    // What the run reported for the test split is what the saved model scores.
    let summary =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: dir + "/ema/summary.json"))) as? [String: Any]
    let reported = ((summary?["test"] as? [String: Any])?["loss"] as? Double) ?? .nan
    let evaluated = try CommandRunner.mlpc([
      "evaluate", dir + "/ema", Repository.path("specs/data/iris-test.csv"), "--format", "json",
    ])
    #expect(evaluated.status == 0, "\(evaluated.stderr)")
    let record =
      try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any]
    let loss = (record?["loss"] as? Double) ?? .nan
    #expect(abs(loss - reported) <= 1e-5 * max(1, reported), "\(loss) vs \(reported)")
  }
}

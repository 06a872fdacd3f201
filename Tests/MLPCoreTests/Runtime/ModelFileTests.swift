// The model file: its description round-trips names with commas, quotes and non-ASCII letters
// and every activation parameter; files of format 1 are still read.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct ModelFileTests {
  @Test func descriptionRoundTripsAwkwardNames() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let csv =
      [
        #""income, USD",größe,label"#, #"1,2,"yes, approved""#, "3,4,no",
        #"5,6,"say ""maybe""""#, "7,8,no",
      ].joined(separator: "\n") + "\n"
    try csv.write(toFile: dir + "/data.csv", atomically: true, encoding: .utf8)
    let result = Checker.check(
      text: """
        task: classification
        input: 2
        layers:
          - {name: "hidden-1", units: 3, activation: leaky_relu, negative_slope: 0.3}
          - {name: out, units: 3, activation: softmax}
        data: {train: data.csv, target: label, standardize: true}
        training: {epochs: 1}
        """, file: dir + "/spec.yaml")
    let spec = try #require(result.spec, "\(result.diagnostics)")
    let trainer = Trainer(spec)
    _ = try trainer.runEpoch(1)
    try Model.encode(spec, trainer.executor).write(to: URL(fileURLWithPath: dir + "/m.safetensors"))
    let model = try Model.load(dir + "/m.safetensors")
    #expect(model.description == ModelDescription(spec))
    #expect(model.description.features == ["income, USD", "größe"])
    #expect(model.description.classes == ["no", #"say "maybe""#, "yes, approved"])
    #expect(model.description.layers[0].parameters == ["negative_slope": 0.3])
    #expect(model.network.layers[0].parameter == 0.3)
    #expect(model.standardizer?.mean == spec.data.standardizer?.mean)
  }

  @Test func formatOneIsStillRead() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let tensors = [
      NamedTensor(name: "h.weight", shape: [3, 2], values: [1, 2, 3, 4, 5, 6]),
      NamedTensor(name: "h.bias", shape: [3], values: [0, 0, 0]),
      NamedTensor(name: "o.weight", shape: [2, 3], values: [1, 0, 0, 0, 1, 0]),
      NamedTensor(name: "o.bias", shape: [2], values: [0, 0]),
    ]
    let metadata = [
      "format": "mlpc-1", "name": "old", "task": "classification", "loss": "cross_entropy",
      "layers": "h,o", "activations": "relu,softmax", "input": "2", "features": "a,b",
      "targets": "label", "classes": "x,y",
    ]
    try Safetensors.encode(tensors, metadata: metadata).write(
      to: URL(fileURLWithPath: dir + "/old.safetensors"))
    let model = try Model.load(dir + "/old.safetensors")
    #expect(model.network.layers.map(\.units) == [3, 2])
    #expect(model.network.layers.map(\.activation) == [.relu, .softmax])
    #expect(model.description.classes == ["x", "y"])
    let out = Predictor(model).run([1, 1], rows: 1)
    #expect(out[0] < out[1])  // z = (3, 7) after relu; softmax favours the second class
  }

  @Test func otherFilesGiveAClearError() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Data("not a model".utf8).write(to: URL(fileURLWithPath: dir + "/x.safetensors"))
    #expect(throws: ModelFileError.self) { try Model.load(dir + "/x.safetensors") }
    #expect(throws: ModelFileError.self) { try Model.load(dir + "/missing") }
  }
}

/// The hand-written metrics line says what JSONSerialization would, non-finite numbers included.
@Test(arguments: [0.25, Double.infinity, Double.nan])
func metricsLineEqualsTheSerialisedDictionary(_ testLoss: Double) throws {
  let report = EpochReport(
    epoch: 3, trainLoss: 0.5, validation: Evaluation(loss: 0.4, accuracy: 0.75),
    test: Evaluation(loss: testLoss, mse: 1e-5, mae: 2, r2: -0.5), seconds: 0.001, steps: 10,
    learningRate: 0.003)
  let parse = { (line: String) in
    try JSONSerialization.jsonObject(with: Data(line.utf8)) as? NSDictionary
  }
  let fast = try #require(try parse(report.metricsLine))
  let reference = try #require(try parse(JSONRecord.line(report)))
  #expect(fast == reference, "\(report.metricsLine)")
  if testLoss == 0.25 {  // keys in order, numbers as Swift prints them (resumed runs append)
    #expect(
      report.metricsLine
        == #"{"epoch":3,"learning_rate":0.003,"seconds":0.001,"steps":10,"#
        + #""test":{"loss":0.25,"mae":2.0,"mse":1e-05,"r2":-0.5},"train_loss":0.5,"#
        + #""validation":{"accuracy":0.75,"loss":0.4}}"#)
  }
}

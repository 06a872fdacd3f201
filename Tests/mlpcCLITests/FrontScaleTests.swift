// `front_scale: true`: a learned scale of every input in front of layer 1. Gradcheck covers it
// (with embedding tables below it, label smoothing and averaged weights beside it); the model,
// ONNX Runtime, the numpy reader and the PyTorch recipe apply it alike; the hardened reader
// refuses a front scale that does not fit. (Three steps equal PyTorch's in KnownAnswerTests.)

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct FrontScaleTests {
  static func write(_ dir: String) throws {
    var csv = "city,size,weight,kind\n"
    for i in 0..<240 {
      let c = (i * 7) % 6
      csv +=
        "c\(c),\(Double(i % 9) / 3),\(Double((i * 5) % 11) - 5),\(c % 2 == 0 ? "even" : "odd")\n"
    }
    try csv.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    try """
    task: classification
    front_scale: true
    layers: [{units: 8, activation: silu}, {units: 2, activation: softmax}]
    loss: {type: cross_entropy, label_smoothing: 0.1}
    data:
      train: d.csv
      target: kind
      features:
        city: {type: categorical, encoding: embedding, dim: 2}
        size: numeric
        weight: {type: numeric, scale: robust_smooth_clip}
    training: {epochs: 60, optimizer: adam, learning_rate: 0.03, ema: 0.9}
    """.write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
  }

  @Test func itIsCheckedTrainedAndAppliedEverywhere() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Self.write(dir)
    let plan = try CommandRunner.mlpc(["plan", dir + "/s.yaml"])
    #expect(plan.stdout.contains("front_scale "), "\(plan.stdout)")
    #expect(plan.stdout.contains("front_scale_backward"), "\(plan.stdout)")
    let gradcheck = try CommandRunner.mlpc(["gradcheck", dir + "/s.yaml"])
    #expect(gradcheck.status == 0, "\(gradcheck.stdout)\(gradcheck.stderr)")
    #expect(gradcheck.stdout.contains("front.scale") && gradcheck.stdout.contains("city.embedding"))
    let run = try CommandRunner.mlpc(["run", dir + "/s.yaml", "--quiet", "--out", dir + "/run"])
    #expect(run.status == 0, "\(run.stderr)")
    let model = try Model.load(dir + "/run")
    let scale = try #require(model.tensors[Network.frontScaleName])
    #expect(scale.shape == [model.network.input] && model.network.frontScale)
    #expect(scale.values.contains { $0 != 1 }, "the scale was trained")
    try "city,size,weight\nc1,1,2\nc2,0.5,-4\nc9,2,40\n".write(
      toFile: dir + "/new.csv", atomically: true, encoding: .utf8)
    let predicted = try CommandRunner.mlpc([
      "predict", dir + "/run", dir + "/new.csv", "--probabilities", "--out", dir + "/p.csv",
    ])
    #expect(predicted.status == 0, "\(predicted.stderr)")
    let lines = try String(contentsOfFile: dir + "/p.csv", encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 4)
    try RawTableTests.expectExportAndReaderAgree(dir, lines: lines, compared: 1..<3, op: "Mul")
  }
}

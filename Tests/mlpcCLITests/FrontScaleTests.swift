// `front_scale: true`: a learned scale of every input in front of layer 1. Gradcheck covers it
// (with embedding tables below it, label smoothing and averaged weights beside it); the model,
// ONNX Runtime, the numpy reader and the PyTorch recipe apply it alike; the hardened reader
// refuses a front scale that does not fit. (Three steps equal PyTorch's in KnownAnswerTests.)

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct FrontScaleTests {
  static let spec = """
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
    """

  @Test func itIsCheckedTrainedAndAppliedEverywhere() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let trained = try RawTableTests.trainMixedTable(dir, spec: Self.spec)
    let (plan, gradcheck, model, lines) = (
      trained.plan, trained.gradcheck, trained.model, trained.lines
    )
    #expect(plan.contains("front_scale "), "\(plan)")
    #expect(plan.contains("front_scale_backward"), "\(plan)")
    #expect(gradcheck.contains("front.scale") && gradcheck.contains("city.embedding"))
    let scale = try #require(model.tensors[Network.frontScaleName])
    #expect(scale.shape == [model.network.input] && model.network.frontScale)
    #expect(scale.values.contains { $0 != 1 }, "the scale was trained")
    try RawTableTests.expectExportAndReaderAgree(dir, lines: lines, compared: 1..<3, op: "Mul")
  }
}

// `loss: {type: …, label_smoothing: ε}`: both spellings of the loss key, where smoothing is
// refused, and what the plan compiles (the steps themselves equal PyTorch's in
// KnownAnswerTests). The smoothed loss of a batch equals −Σ y' log p with y' = (1 − ε)y + ε/K.

import Foundation
import MLPCTestSupport
import Testing

@testable import MLPCore

@Suite struct LabelSmoothingTests {
  func spec(loss: String, task: String = "classification", output: String = "softmax") -> String {
    """
    task: \(task)
    input: 2
    layers: [{units: 4, activation: tanh}, {units: \(output == "sigmoid" ? 1 : 3), activation: \(output)}]
    loss: \(loss)
    data: {generator: \(task == "classification" ? "blobs, classes: \(output == "sigmoid" ? 2 : 3)" : "sine"), dimensions: 2, samples: 30}
    training: {batch_size: 6}
    """
  }

  func smoothing(_ plan: ExecutionPlan) -> Float? {
    if case .loss(_, _, _, _, _, _, _, _, _, let smoothing)? = plan.loss { return smoothing }
    return nil
  }

  @Test func bothSpellingsCompile() throws {
    let plain = try #require(checkSpec(spec(loss: "cross_entropy")).spec)
    let mapped = try #require(checkSpec(spec(loss: "{type: cross_entropy}")).spec)
    let smoothed = try #require(
      checkSpec(spec(loss: "{type: cross_entropy, label_smoothing: 0.1}")).spec)
    #expect(plain.network.loss == .crossEntropy && mapped.network.loss == .crossEntropy)
    #expect(smoothing(PlanCompiler.compile(plain)) == 0)
    #expect(smoothing(PlanCompiler.compile(mapped)) == 0)
    #expect(smoothing(PlanCompiler.compile(smoothed)) == 0.1)
    #expect(PlanCompiler.compile(smoothed).opLines.contains { $0.contains("label smoothing 0.1") })
    let binary = try #require(
      checkSpec(
        spec(loss: "{type: binary_cross_entropy, label_smoothing: 0.2}", output: "sigmoid")
      ).spec)
    #expect(smoothing(PlanCompiler.compile(binary)) == 0.2)
  }

  @Test func whatIsRefusedIsLocated() {
    let mse = checkSpec(
      spec(loss: "{type: mse, label_smoothing: 0.1}", task: "regression", output: "identity"))
    #expect(mse.spec == nil)
    #expect(
      mse.diagnostics.contains {
        $0.code == .lossMismatch && $0.message.contains("'label_smoothing' applies to")
          && $0.location?.line == 4
      }, "\(mse.diagnostics)")
    let range = checkSpec(spec(loss: "{type: cross_entropy, label_smoothing: 1.5}"))
    #expect(
      range.diagnostics.contains {
        $0.message == "'loss.label_smoothing' must be a number from 0 to 1"
      }, "\(range.diagnostics)")
    let noType = checkSpec(spec(loss: "{label_smoothing: 0.1}"))
    #expect(noType.diagnostics.contains { $0.message == "missing required key 'loss.type'" })
    let unknown = checkSpec(spec(loss: "{type: cross_entropy, smoothing: 0.1}"))
    #expect(
      unknown.diagnostics.contains {
        $0.message == "unknown key 'loss.smoothing'"
          && $0.notes.contains { $0.message == "known keys here: 'type', 'label_smoothing'" }
      }, "\(unknown.diagnostics)")
    let keras = checkSpec(spec(loss: "{type: categorical_crossentropy, label_smoothing: 0.1}"))
    #expect(
      keras.diagnostics.contains { $0.help?.contains("mlpc calls it 'cross_entropy'") == true })
  }

  /// One batch's loss with ε against −(1/M) Σ_rows Σ_c y'_c log softmax(z)_c in Double, from the
  /// logits the training plan holds before its loss op.
  @Test func theLossIsTheCrossEntropyOfTheSmoothedTargets() throws {
    let checked = try #require(
      checkSpec(spec(loss: "{type: cross_entropy, label_smoothing: 0.3}")).spec)
    let executor = Executor(plan: PlanCompiler.compile(checked), seed: 4)
    let rows = 6
    executor.loadBatch(checked.data.train, 0..<rows)
    executor.forward(rows: rows, training: true)
    let logits = executor.values(executor.plan.output).map(Double.init)
    let targets = executor.values(executor.plan.target!).map(Double.init)
    let loss = executor.loss(rows: rows) / Double(rows)
    var expected = 0.0
    for r in 0..<rows {
      let z = Array(logits[r * 3..<(r + 1) * 3])
      let top = z.max()!
      let logSum = log(z.map { exp($0 - top) }.reduce(0, +)) + top
      for c in 0..<3 {
        let y = 0.7 * targets[r * 3 + c] + 0.3 / 3
        expected -= y * (z[c] - logSum)
      }
    }
    expected /= Double(rows)
    #expect(abs(loss - expected) <= 1e-5 * max(1, abs(expected)), "\(loss) vs \(expected)")
  }
}

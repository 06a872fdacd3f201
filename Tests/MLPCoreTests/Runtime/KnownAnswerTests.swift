// Training steps of tiny networks against values computed independently: by
// scripts/known_answer.py (numpy, float64, two steps) and, for gradient clipping, by
// scripts/known_answer_torch.py (PyTorch's clip_grad_value_ / clip_grad_norm_, and its
// optimizers including Nesterov and AdamW, and its gelu/silu activations, float64, three steps),
// and, for ensembles, by scripts/tabm_oracle.py (the `tabm` package's TabM-mini, float64, three
// steps and the members' averaged prediction): loss, every gradient and every updated parameter.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

struct KnownAnswerCase: Decodable, CustomTestStringConvertible, Sendable {
  struct Step: Decodable, Sendable {
    var loss: Double
    var gradients: [[Double]]
    var parameters: [[Double]]
    /// The moving average of the parameters after the step (cases with `ema`).
    var averaged: [[Double]]?
  }
  var name: String
  var hidden: String
  var output: String
  var loss: String
  var optimizer: String
  var learningRate: Double
  var weightDecay: Double
  var clipNorm: Double?
  var clipValue: Double?
  var momentum: Double?
  var alpha: Double?
  var centered: Bool?
  var labelSmoothing: Double?
  var ema: Double?
  var frontScale: Bool?
  /// An ensemble's k, and its averaged prediction on x after the steps.
  var ensemble: Int?
  /// `independent` or `batch_ensemble` (nil: TabM-mini).
  var ensembleKind: String?
  var prediction: [Double]?
  var inputs: Int
  var hiddenUnits: Int
  var outputs: Int
  var x: [Double]
  var y: [Double]
  var initial: [[Double]]
  var steps: [Step]
  var testDescription: String { name }

  enum CodingKeys: String, CodingKey {
    case name, hidden, output, loss, optimizer, inputs, outputs, x, y, initial, steps
    case momentum, alpha, centered, ema, ensemble, prediction
    case frontScale = "front_scale"
    case ensembleKind = "ensemble_kind"
    case learningRate = "learning_rate"
    case weightDecay = "weight_decay"
    case clipNorm = "clip_norm"
    case clipValue = "clip_value"
    case hiddenUnits = "hidden_units"
    case labelSmoothing = "label_smoothing"
  }

  static func all() -> [KnownAnswerCase] { load("known_answer.json") }
  static func torch() -> [KnownAnswerCase] { load("known_answer_torch.json") }
  static func tabm() -> [KnownAnswerCase] { load("ensemble_tabm.json") }

  static func load(_ name: String) -> [KnownAnswerCase] {
    let data =
      FileManager.default.contents(atPath: Repository.path("Tests/Fixtures/" + name)) ?? Data()
    return (try? JSONDecoder().decode([KnownAnswerCase].self, from: data)) ?? []
  }

  var spec: String {
    let classes = loss == "binary_cross_entropy" ? 2 : outputs
    let data =
      loss == "mse"
      ? "{generator: sine, dimensions: \(inputs), samples: 20}"
      : "{generator: blobs, classes: \(classes), dimensions: \(inputs), samples: 20}"
    return """
      task: \(loss == "mse" ? "regression" : "classification")
      input: \(inputs)
      front_scale: \(frontScale ?? false)
      ensemble: \(ensembleKind.map { "{members: \(ensemble ?? 1), kind: \($0)}" } ?? String(ensemble ?? 1))
      layers:
        - {units: \(hiddenUnits), activation: \(hidden)}
        - {units: \(outputs), activation: \(output)}
      loss: \(labelSmoothing.map { "{type: \(loss), label_smoothing: \($0)}" } ?? loss)
      data: \(data)
      training: {optimizer: \(optimizer), learning_rate: \(learningRate), batch_size: 5, weight_decay: \(weightDecay)\(clipping)}
      """
  }

  private var clipping: String {
    (clipNorm.map { ", clip_norm: \($0)" } ?? "") + (clipValue.map { ", clip_value: \($0)" } ?? "")
      + (momentum.map { ", momentum: \($0)" } ?? "") + (alpha.map { ", alpha: \($0)" } ?? "")
      + (centered.map { ", centered: \($0)" } ?? "") + (ema.map { ", ema: \($0)" } ?? "")
  }
}

@Suite struct KnownAnswerTests {
  @Test func fixtureIsPresent() {
    let cases = KnownAnswerCase.all()
    #expect(cases.count == 6)
    #expect(cases.count { $0.weightDecay > 0 } == 3)
    #expect(cases.contains { $0.loss == "binary_cross_entropy" })
    let torch = KnownAnswerCase.torch()
    #expect(torch.count == 19 && torch.allSatisfy { $0.steps.count == 3 })
    #expect(torch.count { $0.frontScale == true } == 3, "the front scale against PyTorch")
    #expect(
      torch.contains { $0.frontScale == true && $0.weightDecay > 0 }
        && KnownAnswerCase.tabm().contains { $0.weightDecay > 0 },
      "weight decay leaves the front scale and the adapters alone")
    #expect(
      torch.filter { $0.ema != nil }.allSatisfy { $0.steps.allSatisfy { $0.averaged != nil } }
        && torch.count { $0.ema != nil } == 2, "averaged weights against AveragedModel")
    #expect(
      Set(torch.filter { $0.labelSmoothing != nil }.map(\.loss))
        == ["cross_entropy", "binary_cross_entropy"], "label smoothing of both losses")
    for activation in [Activation.gelu, .geluTanh, .silu] {
      #expect(
        torch.contains { $0.hidden == activation.rawValue },
        "\(activation.rawValue) in a hidden layer against PyTorch")
    }
    #expect(torch.contains { $0.output == "silu" } && torch.contains { $0.output == "gelu" })
    #expect(
      Set(torch.map(\.optimizer)) == Set(OptimizerKind.allCases.map(\.rawValue)),
      "every optimizer has a known-answer case against PyTorch")
    #expect(torch.contains { $0.optimizer == "rmsprop" && $0.centered == true })
    #expect(torch.count { $0.clipNorm != nil } == 2 && torch.count { $0.clipValue != nil } == 2)
    let tabm = KnownAnswerCase.tabm()
    #expect(
      tabm.count == 6 && tabm.allSatisfy { $0.ensemble ?? 1 > 1 && $0.prediction != nil }
        && Set(tabm.map(\.loss)) == ["mse", "cross_entropy", "binary_cross_entropy"],
      "ensembles of every loss against the tabm package")
    #expect(
      Set(tabm.compactMap(\.ensembleKind)) == ["batch_ensemble", "independent"],
      "TabM and TabM-packed beside TabM-mini")
  }

  @Test(arguments: KnownAnswerCase.all() + KnownAnswerCase.torch() + KnownAnswerCase.tabm())
  func stepsMatchTheOracle(_ c: KnownAnswerCase) throws {
    let result = checkSpec(c.spec)
    let spec = try #require(result.spec, "\(result.diagnostics)")
    let plan = PlanCompiler.compile(spec)
    let executor = Executor(plan: plan, seed: spec.training.seed)
    // The four of W1, b1, W2, b2 start as given; a front scale (the fifth) starts at 1; an
    // ensemble's adapters (the fifth) and TabM's output scales (the sixth) start as given.
    let ids =
      [plan.weights[0], plan.biases[0], plan.weights[1], plan.biases[1]]
      + [plan.frontScale, plan.adapter].compactMap { $0 } + plan.memberScales
    #expect((plan.frontScale != nil) == (c.frontScale ?? false))
    #expect(plan.network.members == c.ensemble ?? 1)
    for (id, values) in zip(ids, c.initial) { executor.setValues(id, values.map(Float.init)) }
    let batch = Dataset(
      features: c.x.map(Float.init), targets: c.y.map(Float.init), inputs: c.inputs,
      outputs: c.outputs,
      labels: nil)
    executor.loadBatch(batch, [0, 1, 2, 3, 4])
    let gradientIDs = plan.buffers.filter {
      if case .weightGradient = $0.role { return true }
      if case .biasGradient = $0.role { return true }
      if case .memberOutputScaleGradient = $0.role { return true }
      return $0.role == .frontScaleGradient || $0.role == .ensembleAdapterGradient
    }.sorted { $0.offset < $1.offset }.map(\.id)
    for step in c.steps {
      let loss = executor.trainStep(rows: 5, learningRate: Float(spec.training.learningRate))
      #expect(
        abs(loss - step.loss) <= 1e-5 * max(1, abs(step.loss)), "loss \(loss) vs \(step.loss)")
      #expect(gradientIDs.count == step.gradients.count)
      // Gradients sum float32 terms of size ~1: elements near 0 are compared to 1e-6.
      for (id, expected) in zip(gradientIDs, step.gradients) {
        expectClose(executor.values(id), expected, plan[id].name, floor: 1e-2)
      }
      for (id, expected) in zip(ids, step.parameters) {
        expectClose(
          executor.values(id), expected, plan[id].name, floor: max(1e-3, c.learningRate / 10))
      }
      if let averaged = step.averaged {
        let values = executor.withAveragedParameters { ids.map { executor.values($0) } }
        for (id, (actual, expected)) in zip(ids, zip(values, averaged)) {
          expectClose(actual, expected, "average of \(plan[id].name)")
        }
        // Swapped back: the parameters are the optimizer's again.
        for (id, expected) in zip(ids, step.parameters) {
          expectClose(executor.values(id), expected, plan[id].name)
        }
      }
    }
    if let prediction = c.prediction {
      executor.forward(rows: 5)
      _ = executor.loss(rows: 5)
      expectClose(
        Array(executor.values(plan.output).prefix(prediction.count)), prediction, "prediction")
    }
  }

  /// Relative differences below 1e-4, of values at least `floor` in size (a parameter's steps
  /// are of the learning rate's size: one that passes near 0 is compared at that scale).
  func expectClose(
    _ actual: [Float], _ expected: [Double], _ name: String, floor: Double = 1e-3
  ) {
    #expect(actual.count == expected.count)
    let worst =
      zip(actual, expected).map { abs(Double($0) - $1) / max(floor, abs($1)) }.max() ?? 0
    #expect(worst < 1e-4, "\(name): worst relative difference \(worst)")
  }
}

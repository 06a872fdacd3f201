// Embedding tables as layers of the plan: the lookup fills x^0 as the definition says, the
// scatter-add gradient equals finite differences, and three Adam / AdamW steps equal PyTorch's
// nn.Embedding (Tests/Fixtures/embedding_torch.json, from scripts/embedding_torch.py).

import Foundation
import MLPCTestSupport
import Testing

@testable import MLPCore

/// Three training steps of a small network computed by PyTorch (float64) from given parameters
/// and a batch of loaded rows: the fixture format of scripts/embedding_torch.py and
/// scripts/periodic_torch.py.
struct TorchStepsCase: Decodable, Sendable, CustomTestStringConvertible {
  struct Step: Decodable, Sendable {
    var loss: Double
    var gradients: [[Double]]
    var parameters: [[Double]]
  }
  var optimizer: String
  var learningRate: Double
  var weightDecay: Double
  var rows: Int
  var loaded: [Double]
  var y: [Double]
  var initial: [[Double]]
  var steps: [Step]

  var testDescription: String { optimizer }

  enum CodingKeys: String, CodingKey {
    case optimizer, rows, loaded, y, initial, steps
    case learningRate = "learning_rate"
    case weightDecay = "weight_decay"
  }

  /// The cases of Tests/Fixtures/`file`.
  static func load(_ file: String) -> [TorchStepsCase] {
    let data =
      FileManager.default.contents(atPath: Repository.path("Tests/Fixtures/" + file)) ?? Data()
    return (try? JSONDecoder().decode([TorchStepsCase].self, from: data)) ?? []
  }

  /// The batch of loaded rows (`inputs` columns, `outputs` targets).
  func batch(inputs: Int, outputs: Int) -> Dataset {
    Dataset(
      features: loaded.map(Float.init), targets: y.map(Float.init), inputs: inputs,
      outputs: outputs, labels: nil)
  }
}

/// Within 1e-4 of the expected values relative to their size, or to `floor` for values nearer 0.
func expectClose(
  _ actual: [Float], _ expected: [Double], _ name: String, floor: Double = 1e-3
) {
  #expect(actual.count == expected.count)
  let worst = zip(actual, expected).map { abs(Double($0) - $1) / max(floor, abs($1)) }.max() ?? 0
  #expect(worst < 1e-4, "\(name): worst relative difference \(worst)")
}

extension TorchStepsCase {
  static func embeddings() -> [TorchStepsCase] { load("embedding_torch.json") }

  /// Trains `network` on the case's batch (`inputs` loaded columns, `outputs` targets) for its
  /// steps, from its initial values of the parameter tensors `tensors` names (the fixture's
  /// order); each step's loss, the gradients of those tensors and the tensors themselves equal
  /// the fixture's (within 1e-4 relative, or `floor` × 1e-4 near 0).
  func expectStepsMatch(
    _ network: Network, inputs: Int, outputs: Int, floor: Double = 1e-3,
    tensors: (ExecutionPlan) -> [BufferID]
  ) throws {
    let training = try updateRule(optimizer, learningRate, weightDecay)
    let plan = PlanCompiler.compile(
      network, batchSize: rows, training: (training.updateRule, training.clipping))
    let executor = Executor(plan: plan, seed: 1)
    let ids = tensors(plan)
    for (id, values) in zip(ids, initial) { executor.setValues(id, values.map(Float.init)) }
    // A parameter's gradient lies at the same place in the gradient range.
    let gradients = ids.map { id in
      plan.buffers.first {
        $0.role.isGradient
          && $0.offset - plan.gradients!.offset == plan[id].offset - plan.parameters.offset
      }!.id
    }
    executor.loadBatch(batch(inputs: inputs, outputs: outputs), 0..<rows)
    for step in steps {
      let loss = executor.trainStep(rows: rows, learningRate: Float(learningRate))
      #expect(abs(loss - step.loss) <= 1e-5 * max(1, abs(step.loss)), "\(loss) vs \(step.loss)")
      for (id, expected) in zip(gradients, step.gradients) {
        expectClose(executor.values(id), expected, plan[id].name, floor: floor)
      }
      for (id, expected) in zip(ids, step.parameters) {
        expectClose(executor.values(id), expected, plan[id].name, floor: floor)
      }
    }
  }
}

/// [number, table a (4×2), number, table b (3×3)] → tanh 5 → softmax 3, as the fixture has it.
func embeddedNetwork() -> Network {
  Network(
    name: "e", task: .classification, input: 7,
    layers: [
      CheckedLayer(name: "hidden", units: 5, activation: .tanh),
      CheckedLayer(name: "out", units: 3, activation: .softmax),
    ],
    loss: .crossEntropy,
    embeddings: [
      EmbeddingTable(name: "a", rows: 4, dim: 2, column: 1, offset: 1, unknownRow: true),
      EmbeddingTable(name: "b", rows: 3, dim: 3, column: 3, offset: 4, unknownRow: false),
    ])
}

/// The training settings of `optimizer` at rate η and decay λ, as a spec gives them.
func updateRule(_ optimizer: String, _ η: Double, _ λ: Double) throws -> TrainingConfig {
  let result = checkSpec(
    """
    task: regression
    input: 1
    layers: [{units: 1, activation: identity}]
    data: {generator: sine, dimensions: 1, samples: 8}
    training: {optimizer: \(optimizer), learning_rate: \(η), weight_decay: \(λ)}
    """)
  return try #require(result.spec, "\(result.diagnostics)").training
}

@Suite struct EmbeddingTests {
  @Test func plainRunsAndLookupsFillEveryColumnOfX0Once() throws {
    let network = embeddedNetwork()
    #expect(network.loadedColumns == 4)
    #expect(
      network.plainRuns == [
        ColumnRun(from: 0, to: 0, count: 1), ColumnRun(from: 2, to: 3, count: 1),
      ])
    let plan = PlanCompiler.compileInference(network, batchSize: 2)
    let executor = Executor(plan: plan, seed: 1)
    let a: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
    let b: [Float] = (0..<9).map { Float(10 + $0) }
    executor.setValues(plan.embeddings[0], a)
    executor.setValues(plan.embeddings[1], b)
    // Row 0: codes 2 and 0; row 1: an out-of-range code and NaN select the last rows.
    let rows: [Float] = [0.5, 2, -1, 0, 9, 17, 3, .nan]
    executor.pointer(plan.input).update(from: rows, count: 8)
    executor.forward(rows: 2)
    let x0 = try #require(plan.buffers.first { $0.role == .embedded })
    #expect(
      executor.values(x0.id)
        == [0.5, 5, 6, -1, 10, 11, 12] + [9, 7, 8, 3, 16, 17, 18])
  }

  @Test func initialTablesAreStandardNormalWithTheUnknownRowAtZero() throws {
    let big = Network(
      name: "n", task: .classification, input: 8,
      layers: [CheckedLayer(name: "out", units: 2, activation: .softmax)], loss: .crossEntropy,
      embeddings: [
        EmbeddingTable(name: "c", rows: 2001, dim: 8, column: 0, offset: 0, unknownRow: true)
      ])
    let executor = Executor(plan: PlanCompiler.compileInference(big, batchSize: 1), seed: 3)
    let values = executor.values(executor.plan.embeddings[0])
    #expect(values.suffix(8).allSatisfy { $0 == 0 })
    let drawn = values.dropLast(8).map(Double.init)
    let mean = drawn.reduce(0, +) / Double(drawn.count)
    let variance = drawn.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(drawn.count)
    // 16,000 draws: the mean within 4 standard errors of 0, the variance within 5 % of 1.
    #expect(abs(mean) < 4 / Double(drawn.count).squareRoot() && abs(variance - 1) < 0.05)
  }

  @Test func gradientCheckCoversTheTables() throws {
    let training = try updateRule("adam", 0.01, 0)
    let plan = PlanCompiler.compile(
      embeddedNetwork(), batchSize: 6, training: (training.updateRule, training.clipping))
    let executor = Executor(plan: plan, seed: 5)
    let c = try #require(TorchStepsCase.embeddings().first)
    let data = c.batch(inputs: 4, outputs: 3)
    let results = GradientCheck.run(executor, data: data, rows: 6)
    #expect(results.map(\.tensor).suffix(2) == ["a.embedding", "b.embedding"])
    for r in results {
      #expect(r.worstRelativeError < 1e-3, "\(r.tensor): \(r.worstRelativeError)")
      #expect(r.checkedElements > 0)
    }
  }

  @Test func fixtureIsPresent() {
    let cases = TorchStepsCase.embeddings()
    #expect(cases.map(\.optimizer) == ["adam", "adamw"])
    #expect(cases.allSatisfy { $0.steps.count == 3 && $0.initial.count == 6 })
  }

  @Test(arguments: TorchStepsCase.embeddings())
  func stepsMatchPyTorchsEmbedding(_ c: TorchStepsCase) throws {
    try c.expectStepsMatch(embeddedNetwork(), inputs: 4, outputs: 3) { plan in
      (0..<2).flatMap { [plan.weights[$0], plan.biases[$0]] } + plan.embeddings
    }
  }
}

// Periodic embeddings (PLR) of numeric columns as layers of the plan: x^0 is what the definition
// gives, the gradients of the frequencies and of the (shared) linear layers equal finite
// differences, three Adam / AdamW steps equal `rtdl_num_embeddings`' PeriodicEmbeddings
// (Tests/Fixtures/periodic_torch.json, from scripts/periodic_torch.py), the initialisation is
// the package's, and the spec keys are checked with located messages.

import Foundation
import MLPCTestSupport
import Testing

@testable import MLPCore

extension TorchStepsCase {
  static func periodic() -> [TorchStepsCase] { load("periodic_torch.json") }
}

/// [periodic a (K 3 → 4), lite periodic b (K 2 → 3), number c, lite periodic d (K 2 → 3)] →
/// tanh 5 → softmax 3, as the fixture has it; `members` > 1 makes it an ensemble.
func periodicNetwork(members: Int = 1) -> Network {
  Network(
    name: "p", task: .classification, input: 11,
    layers: [
      CheckedLayer(name: "hidden", units: 5, activation: .tanh),
      CheckedLayer(name: "out", units: 3, activation: .softmax),
    ],
    loss: .crossEntropy,
    periodic: [
      PeriodicEmbedding(
        name: "a", frequencies: 3, dim: 4, sigma: 0.5, lite: false, column: 0, offset: 0),
      PeriodicEmbedding(
        name: "b", frequencies: 2, dim: 3, sigma: 0.5, lite: true, column: 1, offset: 4),
      PeriodicEmbedding(
        name: "d", frequencies: 2, dim: 3, sigma: 0.5, lite: true, column: 3, offset: 8),
    ], members: members)
}

@Suite struct PeriodicTests {
  @Test func tensorsAndColumnsAreLaidOutOnce() {
    let network = periodicNetwork()
    #expect(network.loadedColumns == 4)
    #expect(network.plainRuns == [ColumnRun(from: 2, to: 7, count: 1)])
    #expect(
      network.periodicTensors.map(\.name) == [
        "a.periodic.weight", "a.periodic.bias", "periodic.lite.weight", "periodic.lite.bias",
        "a.periodic.frequencies", "b.periodic.frequencies", "d.periodic.frequencies",
      ])
    #expect(network.periodicTensors.map(\.shape) == [[4, 6], [4], [3, 4], [3], [3], [2], [2]])
    #expect(network.periodicWidth == 14)
  }

  @Test func x0IsTheDefinition() throws {
    let plan = PlanCompiler.compileInference(periodicNetwork(), batchSize: 2)
    let executor = Executor(plan: plan, seed: 4)
    let rows: [Float] = [0.3, -1.2, 7, 2.5, -0.8, 0.05, -3, 1.1]
    executor.pointer(plan.input).update(from: rows, count: 8)
    executor.forward(rows: 2)
    let x0 = executor.values(try #require(plan.buffers.first { $0.role == .embedded }).id)
    let tensors = Dictionary(
      uniqueKeysWithValues: zip(
        plan.network.periodicTensors.map(\.name),
        plan.periodic.map { executor.values($0).map(Double.init) }))
    // ReLU(W [cos 2πf·x, sin 2πf·x] + b), written out in Double.
    func embedding(_ x: Double, _ f: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
      let v = f.map { cos(2 * .pi * $0 * x) } + f.map { sin(2 * .pi * $0 * x) }
      return b.indices.map { j in
        max(0, b[j] + v.indices.reduce(0) { $0 + w[j * v.count + $1] * v[$1] })
      }
    }
    for r in 0..<2 {
      let row = rows[r * 4..<r * 4 + 4].map(Double.init)
      let expected =
        embedding(
          row[0], tensors["a.periodic.frequencies"]!, tensors["a.periodic.weight"]!,
          tensors["a.periodic.bias"]!)
        + embedding(
          row[1], tensors["b.periodic.frequencies"]!, tensors["periodic.lite.weight"]!,
          tensors["periodic.lite.bias"]!) + [row[2]]
        + embedding(
          row[3], tensors["d.periodic.frequencies"]!, tensors["periodic.lite.weight"]!,
          tensors["periodic.lite.bias"]!)
      let got = x0[r * 11..<(r + 1) * 11].map(Double.init)
      let worst = zip(got, expected).map { abs($0 - $1) }.max()!
      #expect(worst < 1e-5, "row \(r): \(got) vs \(expected)")
    }
  }

  @Test func initialisationIsRtdlNumEmbeddings() {
    let network = Network(
      name: "n", task: .regression, input: 8,
      layers: [CheckedLayer(name: "out", units: 1, activation: .identity)], loss: .mse,
      periodic: [
        PeriodicEmbedding(
          name: "x", frequencies: 1000, dim: 8, sigma: 0.2, lite: false, column: 0, offset: 0)
      ])
    let executor = Executor(plan: PlanCompiler.compileInference(network, batchSize: 1), seed: 9)
    let plan = executor.plan
    let values = { (i: Int) in executor.values(plan.periodic[i]).map(Double.init) }
    let (w, b, f) = (values(0), values(1), values(2))
    // N(0, 0.2²) truncated at ±3σ: inside the bounds, standard deviation 0.9866σ.
    #expect(f.allSatisfy { abs($0) <= 0.6 })
    let mean = f.reduce(0, +) / 1000
    let sd = (f.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 1000).squareRoot()
    #expect(abs(mean) < 4 * 0.2 / 1000.0.squareRoot())
    #expect(abs(sd / (0.2 * 0.9866) - 1) < 0.08, "sd \(sd)")
    // The linear layer U(±1/√(2K)), weight and bias alike.
    let limit = 1 / 2000.0.squareRoot()
    #expect((w + b).allSatisfy { abs($0) <= limit })
    #expect(w.max()! > 0.9 * limit && w.min()! < -0.9 * limit)
  }

  @Test(arguments: [1, 3])
  func gradientCheckCoversEveryPeriodicTensor(members: Int) throws {
    let training = try updateRule("adam", 0.01, 0)
    let plan = PlanCompiler.compile(
      periodicNetwork(members: members), batchSize: 6,
      training: (training.updateRule, training.clipping))
    let executor = Executor(plan: plan, seed: 5)
    let c = try #require(TorchStepsCase.periodic().first)
    let data = c.batch(inputs: 4, outputs: 3)
    let results = GradientCheck.run(executor, data: data, rows: 6)
    let names = Set(results.map(\.tensor))
    #expect(names.isSuperset(of: plan.network.periodicTensors.map(\.name)))
    for r in results {
      #expect(r.worstRelativeError < 1e-3, "\(r.tensor): \(r.worstRelativeError)")
      #expect(r.checkedElements > 0, "\(r.tensor)")
    }
  }

  @Test func fixtureIsPresent() {
    let cases = TorchStepsCase.periodic()
    #expect(cases.map(\.optimizer) == ["adam", "adamw"])
    #expect(cases.allSatisfy { $0.steps.count == 3 && $0.initial.count == 11 })
  }

  @Test(arguments: TorchStepsCase.periodic())
  func stepsMatchRtdlPeriodicEmbeddings(_ c: TorchStepsCase) throws {
    // Float32 sums of a few terms of size 1 round at ~1e-7: values near 0 within 1e-6.
    try c.expectStepsMatch(periodicNetwork(), inputs: 4, outputs: 3, floor: 1e-2) { plan in
      (0..<2).flatMap { [plan.weights[$0], plan.biases[$0]] } + plan.periodic
    }
  }

  @Test func specKeysAreChecked() throws {
    let spec = { (treatment: String, other: String) in
      """
      task: regression
      layers: [{units: 4, activation: relu}, {units: 1}]
      data:
        train: \(Repository.path("Tests/Fixtures/two-targets.csv"))
        target: y1
        features: {a: \(treatment), b: \(other), c: numeric, y2: ignore}
      """
    }
    let messages = { (a: String, b: String) in
      checkSpec(spec(a, b)).diagnostics.map { "\($0.location?.line ?? 0): \($0.message)" }
    }
    let conflict = messages(
      "{type: numeric, scale: piecewise_linear, embedding: periodic}", "numeric")
    #expect(
      conflict.contains {
        $0.contains("'data.features.a.embedding: periodic' embeds one number per row")
      }, "\(conflict)")
    #expect(
      messages("{type: numeric, embedding: periodic, sigma: 0}", "numeric").contains {
        $0.contains("'data.features.a.sigma' must be a number above 0")
      })
    #expect(
      messages("{type: numeric, embedding: periodic, frequencies: 0}", "numeric").contains {
        $0.contains("'data.features.a.frequencies' must be a whole number from 1 to 1024")
      })
    #expect(
      messages("{type: numeric, dim: 8}", "numeric").contains {
        $0.contains("'data.features.a.dim' has no effect without 'embedding: periodic'")
      })
    #expect(
      messages("{type: numeric, embedding: fourier}", "numeric").contains {
        $0.contains("fourier")
      })
    let lite = messages(
      "{type: numeric, embedding: periodic, lite: true}",
      "{type: numeric, embedding: periodic, lite: true, dim: 8}")
    #expect(
      lite.contains {
        $0.hasPrefix("6: ")
          && $0.contains(
            "'data.features.b' is a lite periodic embedding with 48 frequencies and dim 8, but 'a' has 48 and 24"
          )
      }, "\(lite)")
    let ok = checkSpec(
      spec(
        "{type: numeric, embedding: periodic, frequencies: 8, dim: 5, sigma: 0.1}",
        "{type: numeric, embedding: periodic, lite: true}"))
    let network = try #require(ok.spec?.network, "\(ok.diagnostics)")
    #expect(network.input == 5 + 24 + 1)
    #expect(network.periodic.map(\.name) == ["a", "b"])
    #expect(network.periodic[0].sigma == 0.1 && network.periodic[1].lite)
    #expect(network.periodic.map(\.frequencies) == [8, 48])
  }
}

// Ensembles (`ensemble: k`, TabM-mini): the plan's shapes and ops, backpropagation through the
// adapters and the members' output layers against finite differences, and the loss and
// prediction of the averaged members against an independent double-precision forward pass.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

struct EnsembleCase: CustomTestStringConvertible, Sendable {
  var loss: LossKind
  var extra = ""
  var training = ""
  var members = 3
  var smoothing: Double? = nil
  var weights = false
  /// `independent` members (nil: TabM-mini, written `ensemble: k`).
  var kind: String? = nil
  var testDescription: String {
    "\(loss.rawValue) k=\(members) \(kind ?? "") \(extra)\(training)\(smoothing.map { " ε=\($0)" } ?? "")"
      + (weights ? " class weights" : "")
  }

  var spec: String {
    let data: String
    let (output, units): (String, Int)
    switch loss {
    case .mse:
      data = "{train: \(Repository.path("Tests/Fixtures/two-targets.csv")), target: [y1, y2]}"
      (output, units) = ("identity", 2)
    case .crossEntropy:
      data = "{generator: blobs, classes: 3, dimensions: 3, samples: 40}"
      (output, units) = ("softmax", 3)
    case .binaryCrossEntropy:
      data = "{generator: blobs, classes: 2, dimensions: 3, samples: 40}"
      (output, units) = ("sigmoid", 1)
    }
    return """
      task: \(loss == .mse ? "regression" : "classification")
      input: 3
      ensemble: \(kind.map { "{members: \(members), kind: \($0)}" } ?? String(members))
      \(extra)
      layers:
        - {units: 5, activation: tanh}
        - {units: 4, activation: gelu}
        - {units: \(units), activation: \(output)}
      loss: \(smoothing.map { "{type: \(loss.rawValue), label_smoothing: \($0)}" } ?? loss.rawValue)
      data: \(weights ? String(data.dropLast()) + ", class_weights: {'0': 1, '1': 2, '2': 1}}" : data)
      training: {batch_size: 6\(training)}
      """
  }

  static let all: [EnsembleCase] =
    [LossKind.mse, .crossEntropy, .binaryCrossEntropy].map { EnsembleCase(loss: $0) } + [
      EnsembleCase(loss: .crossEntropy, extra: "front_scale: true", members: 2),
      EnsembleCase(loss: .mse, training: ", ema: 0.9", members: 4),
      EnsembleCase(loss: .crossEntropy, smoothing: 0.1),
      EnsembleCase(loss: .binaryCrossEntropy, members: 2, smoothing: 0.2),
      // Class weights: every member's rows weighed by their class's weight.
      EnsembleCase(
        loss: .crossEntropy, extra: "", training: ", epochs: 1", members: 3, weights: true),
      // Independent members: every layer each member's own, no adapters; with a front scale
      // below them, ∂L/∂x^0 is the sum over the members.
      EnsembleCase(loss: .mse, members: 3, kind: "independent"),
      EnsembleCase(
        loss: .crossEntropy, extra: "front_scale: true", members: 2, kind: "independent"),
      // TabM: BatchEnsemble hidden layers (r after the first, s, the members' biases).
      EnsembleCase(loss: .mse, members: 3, kind: "batch_ensemble"),
      EnsembleCase(loss: .binaryCrossEntropy, members: 2, kind: "batch_ensemble"),
      EnsembleCase(
        loss: .crossEntropy, extra: "front_scale: true", training: ", ema: 0.9", members: 3,
        kind: "batch_ensemble"),
    ]
}

@Suite struct EnsembleTests {
  @Test(arguments: EnsembleCase.all)
  func backpropMatchesFiniteDifferences(_ c: EnsembleCase) throws {
    let result = checkSpec(c.spec)
    let spec = try #require(result.spec, "\(result.diagnostics)")
    let plan = PlanCompiler.compile(spec)
    let independent = c.kind == "independent"
    #expect((plan.adapter == nil) == independent && plan.network.members == c.members)
    #expect(plan.weights.allSatisfy { plan[$0].shape.count == 3 } == independent)
    let results = GradientCheck.run(
      Executor(plan: plan, seed: 3), data: spec.data.train, rows: 5, samplesPerTensor: 40)
    // W and b of three layers, the adapters (TabM-mini), when there is one the front scale, and
    // TabM's s of both hidden layers and r of the second.
    let scales = c.kind == "batch_ensemble" ? 3 : 0
    #expect(results.count == (independent ? 6 : 7) + (plan.frontScale == nil ? 0 : 1) + scales)
    #expect(results.contains { $0.tensor == Network.adapterName } == !independent)
    for r in results {
      #expect(r.checkedElements > 0, "\(r.tensor): nothing checked")
      #expect(r.worstRelativeError < 1e-3, "\(r.tensor): \(r.worstRelativeError)")
    }
  }

  @Test(arguments: [nil, "batch_ensemble", "independent"])
  func dropoutMasksOfEveryMemberAreBackpropagated(_ kind: String?) throws {
    let c = EnsembleCase(loss: .crossEntropy, members: 3, kind: kind)
    let spec = try #require(
      checkSpec(
        c.spec.replacingOccurrences(
          of: "activation: gelu}", with: "activation: gelu, dropout: 0.3}")
      ).spec)
    let plan = PlanCompiler.compile(spec)
    let mask = try #require(plan.buffers.first { $0.role == .dropoutMask(layer: 2) })
    #expect(mask.shape == [18, 4])
    // Three draws of the masks. A member's own gradients are 1/k of a single network's, and
    // small: elements below 1e-3 are compared at that floor (float32 sums carry a few 1e-7).
    for seed in [5, 6, 7] as [UInt64] {
      for r in GradientCheck.run(
        Executor(plan: plan, seed: seed), data: spec.data.train, rows: 6, samplesPerTensor: 40,
        floor: 1e-3)
      {
        #expect(r.worstRelativeError < 1e-3, "\(r.tensor): \(r.worstRelativeError)")
      }
    }
  }

  /// One SGD step of a network large enough to be updated in slices by the pool's threads: every
  /// parameter moves by −η(g + f·λθ), f = 1 for the shared weights, 1/k for a member's own output
  /// layer, 0 for the front scale and the adapters.
  @Test(arguments: [(1, "mini"), (4, "mini"), (4, "independent"), (4, "batch_ensemble")])
  func weightDecayIsSplitByRunsOfTheParameters(_ members: Int, _ kind: String) throws {
    let spec = try #require(
      checkSpec(
        """
        task: classification
        input: 300
        ensemble: {members: \(members), kind: \(kind)}
        front_scale: true
        layers: [{units: 256, activation: tanh}, {units: 3, activation: softmax}]
        data: {generator: blobs, classes: 3, dimensions: 300, samples: 40}
        training: {batch_size: 8, optimizer: sgd, learning_rate: 0.5, weight_decay: 0.3}
        """
      ).spec)
    let plan = PlanCompiler.compile(spec)
    #expect(plan.parameters.count >= 1 << 16, "large enough to update in slices")
    let executor = Executor(plan: plan, seed: 2)
    let before = executor.parameterRegion.map { $0 }
    executor.loadBatch(spec.data.train, 0..<8)
    _ = executor.trainStep(rows: 8, learningRate: 0.5)
    let after = executor.parameterRegion.map { $0 }
    let gradients = executor.gradientRegion.map { $0 }
    // Independent members own every layer: each decayed λ/k; TabM's hidden layers share W but
    // not b (λ/k), and their scales s are not decayed.
    let first: Float = kind == "independent" ? 1 / Float(members) : 1
    let firstBias: Float = kind == "batch_ensemble" ? 1 / Float(members) : first
    var factors: [(BufferID, Float)] = [
      (plan.weights[0], first), (plan.biases[0], firstBias),
      (plan.weights[1], 1 / Float(members)),
      (plan.biases[1], 1 / Float(members)), (plan.frontScale!, 0),
    ]
    if let adapter = plan.adapter { factors.append((adapter, 0)) }
    factors += plan.memberScales.map { ($0, 0) }
    #expect(plan.memberScales.count == (kind == "batch_ensemble" ? 1 : 0))
    for (id, f) in factors {
      let at = plan[id].offset - plan.parameters.offset
      var worst: Float = 0
      for i in at..<at + plan[id].count {
        let expected = before[i] - 0.5 * (gradients[i] + f * 0.3 * before[i])
        worst = max(worst, abs(after[i] - expected))
      }
      #expect(worst < 1e-6, "\(plan[id].name): \(worst)")
    }
  }

  /// Class weights weigh every member's copy of a row: with class 1 weighing 2, the gradient of
  /// a batch is the unweighted gradient of the batch with class 1's rows twice, rescaled from its
  /// B′ rows to the B rows.
  @Test(arguments: [1, 3])
  func classWeightsWeighEveryMembersRows(_ members: Int) throws {
    let weighted = try #require(
      checkSpec(EnsembleCase(loss: .crossEntropy, members: members, weights: true).spec).spec)
    let plain = try #require(
      checkSpec(EnsembleCase(loss: .crossEntropy, members: members).spec).spec)
    let data = weighted.data.train
    let labels = try #require(data.labels)
    let rows = Array(0..<6)
    let doubled = rows.flatMap { labels[$0] == 1 ? [$0, $0] : [$0] }
    try #require(doubled.count > rows.count && doubled.count <= 12)
    let a = Executor(plan: PlanCompiler.compile(weighted), seed: 4)
    a.loadBatch(data, rows)
    _ = a.computeGradients(rows: rows.count)
    let b = Executor(plan: PlanCompiler.compile(plain, batchSize: 12), seed: 4)
    #expect(a.parameterRegion.elementsEqual(b.parameterRegion))
    b.loadBatch(data, doubled)
    _ = b.computeGradients(rows: doubled.count)
    var worst: Float = 0
    for (x, y) in zip(a.gradientRegion, b.gradientRegion) {
      let (u, v) = (x * Float(rows.count), y * Float(doubled.count))
      worst = max(worst, abs(u - v) / max(abs(v), 1e-3))
    }
    #expect(worst < 1e-4, "\(worst)")
  }

  /// A model file's ensemble predicts each member's x^N (`mlpc evaluate --members` reports them)
  /// and their mean, as the double-precision reference computes them from the definitions.
  @Test(arguments: [LossKind.crossEntropy, .mse])
  func aSavedEnsemblePredictsEveryMember(_ loss: LossKind) throws {
    let spec = try #require(checkSpec(EnsembleCase(loss: loss, members: 3).spec).spec)
    let trainer = Trainer(spec)
    for epoch in 1...2 { _ = try trainer.runEpoch(epoch) }
    let model = try Model.decode(Model.encode(spec, trainer.executor), file: "m.safetensors")
    #expect(model.network.members == 3)
    let reference = ReferenceNetwork(executor: trainer.executor)
    let data = spec.data.train
    let rows = 7
    let predictor = Predictor(model, batchSize: rows)
    let out = Array(predictor.run(Array(data.features.prefix(rows * data.inputs)), rows: rows))
    let n = predictor.outputs
    var worst = 0.0
    for r in 0..<rows {
      let x = data.features[r * data.inputs..<(r + 1) * data.inputs].map(Double.init)
      let members = reference.memberOutputs(x)
      let ours = predictor.memberOutputs(row: r, of: rows).map { Array($0) }
      #expect(ours.count == 3)
      for (a, b) in zip(ours, members) {
        for (u, v) in zip(a, b) { worst = max(worst, abs(Double(u) - v)) }
      }
      for c in 0..<n {
        let mean = members.reduce(0) { $0 + $1[c] } / 3
        worst = max(worst, abs(Double(out[r * n + c]) - mean))
      }
    }
    #expect(worst < 1e-5, "\(worst)")
    #expect(reference.memberOutputs([1, 2, 3])[0] != reference.memberOutputs([1, 2, 3])[1])
  }

  /// `ensemble: k` and `ensemble: {members: k, kind: mini}` are the same network; other kinds,
  /// a missing size and sizes out of range are located errors.
  @Test func theMappingFormIsReadAndChecked() throws {
    let spec = { (value: String) in
      EnsembleCase(loss: .crossEntropy).spec.replacingOccurrences(
        of: "ensemble: 3", with: "ensemble: \(value)")
    }
    for value in ["{members: 5, kind: mini}", "{members: 5}", "5"] {
      let checked = try #require(checkSpec(spec(value)).spec, "\(value)")
      #expect(checked.network.members == 5 && checked.network.ensembleKind == .mini)
    }
    let typo = checkSpec(spec("{members: 5, kind: batch_ensembel}")).diagnostics
    #expect(typo.contains { $0.help == "did you mean 'batch_ensemble'?" }, "\(typo)")
    let independent = try #require(checkSpec(spec("{members: 5, kind: independent}")).spec)
    #expect(independent.network.ensembleKind == .independent)
    #expect(independent.network.memberLayers == [1, 2, 3] && !independent.network.hasAdapters)
    let refused: [(String, String, String)] = [
      ("{members: 5, kind: big}", "E006", "unknown ensemble kind 'big'"),
      ("{kind: mini}", "E005", "'ensemble.members'"),
      ("{members: 65}", "E017", "'ensemble' must be between 1 and 64"),
      ("{members: 5, size: 2}", "E003", "'ensemble.size'"),
      ("0", "E017", "'ensemble' must be between 1 and 64"),
    ]
    for (value, code, message) in refused {
      let result = checkSpec(spec(value))
      #expect(result.spec == nil, "\(value)")
      #expect(
        result.diagnostics.contains { $0.code.rawValue == code && $0.message.contains(message) },
        "\(value): \(result.diagnostics)")
    }
  }

  /// Layer 1 over inputs that are runs of ones and zeros (piecewise-linear bins, one-hot codes)
  /// takes them as terms (AdaptedDense.swift): its gradients, the adapters' included, match
  /// central differences over a batch of such rows with one row that is not.
  @Test(arguments: ["relu", "gelu"])
  func rowsOfRunsBackpropagateAndPredictAlike(_ activation: String) throws {
    let spec = try #require(
      checkSpec(
        """
        task: classification
        input: 77
        ensemble: 3
        layers:
          - {units: 40, activation: \(activation)}
          - {units: 6, activation: tanh}
          - {units: 3, activation: softmax}
        data: {generator: blobs, classes: 3, dimensions: 77, samples: 40}
        training: {batch_size: 8}
        """
      ).spec)
    let plan = PlanCompiler.compile(spec)
    #expect(plan.buffers.contains { $0.role == .runTerms })
    #expect(plan.opLines.contains { $0.hasPrefix("adapted_dense[1]") })
    #expect(!plan.opLines.contains { $0.hasPrefix("ensemble_spread") && $0.contains("x0") })
    // Three groups of 24 bins (ones, a fraction, zeros) and a one-hot group of 5; row 3 dense.
    var rng = SeededGenerator(seed: 5)
    var features = [Float](repeating: 0, count: 8 * 77)
    for i in 0..<8 {
      for g in 0..<3 {
        let t = Int(rng.uniform(1, 23))
        for j in 0..<t { features[i * 77 + g * 24 + j] = 1 }
        features[i * 77 + g * 24 + t] = Float(rng.uniform(0.1, 0.9))
      }
      features[i * 77 + 72 + i % 5] = 1
      if i == 3 { for j in 0..<77 { features[i * 77 + j] = Float(rng.uniform(-1, 1)) } }
    }
    let labels = (0..<8).map { $0 % 3 }
    let targets = labels.flatMap { l in (0..<3).map { $0 == l ? Float(1) : 0 } }
    let data = Dataset(
      features: features, targets: targets, inputs: 77, outputs: 3, labels: labels)
    let results = GradientCheck.run(
      Executor(plan: plan, seed: 3), data: data, rows: 8, samplesPerTensor: 60)
    #expect(results.contains { $0.tensor == Network.adapterName })
    for r in results {
      #expect(r.checkedElements > 0, "\(r.tensor): nothing checked")
      #expect(r.worstRelativeError < 1e-3, "\(r.tensor): \(r.worstRelativeError)")
    }
  }

  @Test func planRunsTheMembersAsOneWiderBatch() throws {
    let spec = try #require(checkSpec(EnsembleCase(loss: .crossEntropy, members: 4).spec).spec)
    let plan = PlanCompiler.compile(spec)
    let shape = { (role: BufferRole) in plan.buffers.first { $0.role == role }?.shape }
    #expect(shape(.memberInput) == [24, 3])
    // Layer 1's backward takes ∂L/∂r from each member's δ_mᵀ · x^0, not from ∂L/∂(x^0 ⊙ r_m);
    // nothing below x^0 learns, so neither ∂L/∂x^0 nor W ⊙ r_m is needed.
    #expect(shape(.memberWeightProduct) == [4, 5, 3] && shape(.memberInputDelta) == nil)
    #expect(shape(.memberWeight) == nil)
    if case .adaptedDenseBackward(_, _, _, _, nil, _, nil, nil, _, _, _, _, nil, 4, 3, 5) = plan
      .backward
      .last
    {
    } else {
      Issue.record("layer 1's backward comes last: \(plan.opLines.last ?? "")")
    }
    #expect(shape(.activation(layer: 1)) == [24, 5])
    #expect(shape(.delta(layer: 3)) == [24, 3])
    #expect(shape(.memberTarget) == [24, 3])
    #expect(shape(.ensembleOutput) == [6, 3])
    #expect(shape(.weight(layer: 3)) == [4, 3, 4] && shape(.bias(layer: 3)) == [4, 3])
    #expect(shape(.weight(layer: 2)) == [4, 5] && shape(.ensembleAdapter) == [4, 3])
    #expect(plan.output == plan.buffers.first { $0.role == .ensembleOutput }!.id)
    // Parameters: shared 3·5 + 5 + 5·4 + 4, four heads of 4·3 + 3, four adapters of 3.
    #expect(plan.parameterCount == 44 + 4 * 15 + 12)
    // k = 4 members cost 4× a single network's FLOPs in every layer.
    let single = PlanCompiler.compile(
      try #require(checkSpec(EnsembleCase(loss: .crossEntropy, members: 1).spec).spec))
    #expect(single.adapter == nil && single.network.members == 1)
    for k in 1...3 {
      #expect(plan.flops(layer: k).forward == 4 * single.flops(layer: k).forward)
    }
    let inference = PlanCompiler.compileInference(plan.network, batchSize: 6)
    #expect(inference.output == inference.buffers.first { $0.role == .ensembleOutput }!.id)
    if case .ensembleMean = inference.forward.last! {
    } else {
      Issue.record("the inference plan ends with the members' mean")
    }
  }

  /// Evaluation reports the averaged members' loss and metrics, as an independent forward pass
  /// in double precision computes them.
  @Test(arguments: [LossKind.mse, .crossEntropy, .binaryCrossEntropy])
  func evaluationIsTheAveragedPrediction(_ loss: LossKind) throws {
    let spec = try #require(checkSpec(EnsembleCase(loss: loss, members: 3).spec).spec)
    let trainer = Trainer(spec)
    for epoch in 1...3 { _ = try trainer.runEpoch(epoch) }
    let data = spec.data.train
    let evaluation = trainer.evaluate(data)
    let reference = ReferenceNetwork(executor: trainer.executor)
    var total = 0.0
    var correct = 0
    for r in 0..<data.count {
      let x = data.features[r * data.inputs..<(r + 1) * data.inputs].map(Double.init)
      let p = reference.forward(x)
      let y = data.targets[r * data.outputs..<(r + 1) * data.outputs].map(Double.init)
      for (pc, yc) in zip(p, y) {
        switch loss {
        case .mse: total += 0.5 * (yc - pc) * (yc - pc)
        case .crossEntropy: total -= yc * log(max(pc, 1e-300))
        case .binaryCrossEntropy: total -= yc * log(pc) + (1 - yc) * log(1 - pc)
        }
      }
      if let labels = data.labels {
        let predicted = p.count == 1 ? (p[0] >= 0.5 ? 1 : 0) : p.indices.max { p[$0] < p[$1] }!
        correct += predicted == labels[r] ? 1 : 0
      }
    }
    let expected = total / Double(data.count)
    #expect(
      abs(evaluation.loss - expected) < 1e-5 * max(1, expected), "\(evaluation.loss) vs \(expected)"
    )
    if data.labels != nil {
      #expect(evaluation.accuracy == Double(correct) / Double(data.count))
    }
  }
}

/// Independent members are separate networks: the ensemble's loss is the mean of theirs, so with
/// SGD at k·η each member's parameters after three steps equal those of a single network
/// trained alone at η from that member's start, and the ensemble predicts their mean.
@Suite struct IndependentMemberTests {
  @Test(arguments: [LossKind.mse, .crossEntropy])
  func eachMemberTrainsAsASingleNetwork(_ loss: LossKind) throws {
    let c = EnsembleCase(loss: loss, training: ", optimizer: sgd", members: 3, kind: "independent")
    let ensembleSpec = try #require(checkSpec(c.spec).spec)
    let singleSpec = try #require(
      checkSpec(c.spec.replacingOccurrences(of: "{members: 3, kind: independent}", with: "1"))
        .spec)
    let (rate, rows) = (Float(0.05), 6)
    let data = ensembleSpec.data.train
    let ensemble = Executor(plan: PlanCompiler.compile(ensembleSpec), seed: 7)
    let plan = ensemble.plan
    let start = plan.weights.map { ensemble.values($0) } + plan.biases.map { ensemble.values($0) }
    ensemble.loadBatch(data, 0..<rows)
    for _ in 0..<3 { _ = ensemble.trainStep(rows: rows, learningRate: 3 * rate) }
    // The ensemble's prediction after the steps, for the batch, by an inference plan.
    let predict = { (executor: Executor) -> [Float] in
      let trained = executor.plan
      let inference = Executor(
        plan: PlanCompiler.compileInference(trained.network, batchSize: rows), seed: 1)
      for (to, from) in zip(inference.plan.parameterTensors, trained.parameterTensors) {
        inference.setValues(to, executor.values(from))
      }
      inference.loadBatch(data, 0..<rows)
      inference.forward(rows: rows)
      return inference.values(inference.plan.output)
    }
    let predicted = predict(ensemble)
    var memberOutputs: [[Float]] = []
    for m in 0..<3 {
      let single = Executor(plan: PlanCompiler.compile(singleSpec), seed: 1)
      let tensors = single.plan.weights + single.plan.biases
      for (id, values) in zip(tensors, start) {
        let n = single.plan[id].count
        single.setValues(id, Array(values[m * n..<(m + 1) * n]))
      }
      single.loadBatch(data, 0..<rows)
      for _ in 0..<3 { _ = single.trainStep(rows: rows, learningRate: rate) }
      for (id, ours) in zip(tensors, plan.weights + plan.biases) {
        let n = single.plan[id].count
        let member = Array(ensemble.values(ours)[m * n..<(m + 1) * n])
        let worst = zip(member, single.values(id)).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "member \(m) \(single.plan[id].name): \(worst)")
      }
      memberOutputs.append(predict(single))
    }
    let width = plan.network.layers.last!.units
    for i in 0..<rows * width {
      let mean = memberOutputs.reduce(0) { $0 + $1[i] } / 3
      #expect(abs(predicted[i] - mean) < 1e-5, "output \(i)")
    }
  }
}

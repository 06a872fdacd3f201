// `ensemble: k` through the command line, with every other piece of a tabular recipe beside it
// (embedding tables, piecewise-linear and smooth-clipped columns, a periodic embedding, a front
// scale, gelu, label
// smoothing, averaged weights): `mlpc plan` shows the members' ops, gradcheck passes, the model
// holds k output layers and the adapters, and predict, ONNX Runtime and the numpy reader agree.
// (Three steps equal the tabm package's in KnownAnswerTests; gradcheck cases in EnsembleTests.)

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct EnsembleCommandTests {
  static let spec = """
    task: classification
    front_scale: true
    ensemble: 4
    layers: [{units: 8, activation: gelu}, {units: 2, activation: softmax}]
    loss: {type: cross_entropy, label_smoothing: 0.1}
    data:
      train: d.csv
      target: kind
      features:
        city: {type: categorical, encoding: embedding, dim: 2}
        size: {type: numeric, scale: piecewise_linear, bins: 4}
        weight: {type: numeric, scale: robust_smooth_clip, embedding: periodic, frequencies: 4, dim: 3, sigma: 0.3}
    training: {epochs: 40, optimizer: adam, learning_rate: 0.03, ema: 0.9}
    """

  @Test func itIsCheckedTrainedAndAppliedEverywhere() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let trained = try RawTableTests.trainMixedTable(dir, spec: Self.spec)
    let (plan, gradcheck, model, lines) = (
      trained.plan, trained.gradcheck, trained.model, trained.lines
    )
    #expect(plan.contains("ensemble of 4 (TabM-mini: 128 rows per step)"), "\(plan)")
    for op in ["ensemble_spread ", "ensemble_mean", "adapted_dense_backward[1] ", "[each of 4"] {
      #expect(plan.contains(op), "\(op) in \(plan)")
    }
    #expect(gradcheck.contains(Network.adapterName))
    #expect(gradcheck.contains("weight.periodic.frequencies"))
    let planJSON = try CommandRunner.mlpc(["plan", dir + "/s.yaml", "--format", "json"])
    // The plan's document, before the checker's.
    let document = planJSON.stdout.components(separatedBy: "\n}\n").first.map { $0 + "\n}" }
    let record =
      try JSONSerialization.jsonObject(with: Data((document ?? "").utf8)) as? [String: Any]
    #expect(record?["members"] as? Int == 4 && record?["batch_size"] as? Int == 32)
    #expect(model.network.members == 4)
    // The layer table lists the parameters outside W and b too, with their counts.
    let n0 = model.network.input
    let planRows = plan.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    #expect(planRows.contains([Network.adapterName, "4×\(n0)", "\(4 * n0)"]), "\(plan)")
    #expect(planRows.contains([Network.frontScaleName, "\(n0)", "\(n0)"]), "\(plan)")
    let adapter = try #require(model.tensors[Network.adapterName])
    #expect(adapter.shape == [4, model.network.input])
    #expect(adapter.values.contains { abs($0) != 1 }, "the adapters were trained")
    #expect(model.tensors["layer2.weight"]?.shape == [4, 2, 8])
    try RawTableTests.expectExportAndReaderAgree(
      dir, lines: lines, compared: 1..<3, op: "ReduceMean")
    // Trained well enough to be an ensemble of useful members.
    let evaluated = try CommandRunner.mlpc(["evaluate", dir + "/run", dir + "/d.csv"])
    #expect(
      evaluated.status == 0 && evaluated.stdout.contains("accuracy 1.0000"), "\(evaluated.stdout)")
    // Each member alone: four rows; by Jensen's inequality the averaged prediction's
    // cross-entropy is at most the members' mean.
    let each = try CommandRunner.mlpc([
      "evaluate", dir + "/run", dir + "/d.csv", "--members", "--format", "json",
    ])
    #expect(each.status == 0, "\(each.stderr)")
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(each.stdout.utf8)) as? [String: Any])
    let rows = try #require(json["members"] as? [[String: Double]])
    #expect(rows.count == 4 && rows.allSatisfy { ($0["accuracy"] ?? -1) > 0.5 })
    let ensembleLoss = try #require(json["loss"] as? Double)
    #expect(ensembleLoss <= rows.map { $0["loss"]! }.reduce(0, +) / 4 + 1e-9)
    let text = try CommandRunner.mlpc(["evaluate", dir + "/run", dir + "/d.csv", "--members"])
    #expect(text.stdout.contains("each member alone:\nmember  loss      accuracy\n1       "))
    // --init-from takes an ensemble's weights only into an ensemble of as many members.
    for members in [1, 2] {
      let other = try CommandRunner.mlpc([
        "run", dir + "/s.yaml", "--set", "ensemble=\(members)", "--init-from", dir + "/run",
        "--quiet", "--out", dir + "/other\(members)",
      ])
      #expect(other.status == 1 && other.stderr.contains("but the model is an ensemble of 4"))
      #expect(!FileManager.default.fileExists(atPath: dir + "/other\(members)"))
    }
    let continued = try CommandRunner.mlpc([
      "run", dir + "/s.yaml", "--init-from", dir + "/run", "--epochs", "1", "--quiet", "--out",
      dir + "/continued",
    ])
    #expect(continued.status == 0, "\(continued.stderr)")
    let single = try CommandRunner.mlpc([
      "run", dir + "/s.yaml", "--set", "ensemble=1", "--epochs", "1", "--quiet", "--out",
      dir + "/single",
    ])
    #expect(single.status == 0, "\(single.stderr)")
    let refused = try CommandRunner.mlpc([
      "evaluate", dir + "/single", dir + "/d.csv", "--members",
    ])
    #expect(refused.status != 0 && refused.stderr.contains("--members applies to an ensemble"))
    let next = try Model.load(dir + "/continued")
    let moved = zip(next.tensors[Network.adapterName]!.values, adapter.values).map { abs($0 - $1) }
    #expect(moved.max()! < 0.2, "the adapters start from the model's: \(moved)")
  }

  /// `kind: independent`: every layer the members' own, no adapters; planned, gradient-checked,
  /// exported and read back like TabM-mini, and never a start for a TabM-mini run.
  @Test func independentMembersTrainAndApplyEverywhere() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec = Self.spec.replacingOccurrences(
      of: "ensemble: 4", with: "ensemble: {members: 3, kind: independent}")
    let trained = try RawTableTests.trainMixedTable(dir, spec: spec)
    #expect(
      trained.plan.contains("ensemble of 3 (independent: 96 rows per step)"), "\(trained.plan)")
    #expect(trained.plan.contains("[each of 3 members]"))
    #expect(!trained.gradcheck.contains(Network.adapterName))
    let model = trained.model
    #expect(model.network.ensembleKind == .independent && model.tensors[Network.adapterName] == nil)
    #expect(model.tensors["layer1.weight"]?.shape == [3, 8, model.network.input])
    try RawTableTests.expectExportAndReaderAgree(
      dir, lines: trained.lines, compared: 1..<3, op: "ReduceMean")
    let refused = try CommandRunner.mlpc([
      "run", dir + "/s.yaml", "--set", "ensemble=3", "--init-from", dir + "/run", "--quiet",
      "--out", dir + "/mini",
    ])
    #expect(
      refused.status == 1 && refused.stderr.contains("but the model's kind is 'independent'"),
      "\(refused.stderr)")
  }

  /// `kind: batch_ensemble` (TabM): BatchEnsemble hidden layers with their scales, planned,
  /// gradient-checked, exported (ONNX Runtime and the numpy reader agree), continued with
  /// --init-from (the scales carried over).
  @Test func tabmTrainsAndAppliesEverywhere() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec = Self.spec.replacingOccurrences(
      of: "ensemble: 4", with: "ensemble: {members: 3, kind: batch_ensemble}")
    let trained = try RawTableTests.trainMixedTable(dir, spec: spec)
    #expect(
      trained.plan.contains("ensemble of 3 (TabM, BatchEnsemble layers: 96 rows per step)"),
      "\(trained.plan)")
    #expect(
      trained.plan.contains("batch_ensemble[1]")
        && trained.plan.contains("batch_ensemble_backward[1]"))
    #expect(
      trained.gradcheck.contains("layer1.output_scale")
        && trained.gradcheck.contains(Network.adapterName))
    let model = trained.model
    #expect(model.network.ensembleKind == .batchEnsemble)
    #expect(model.tensors["layer1.weight"]?.shape == [8, model.network.input])
    #expect(model.tensors["layer1.bias"]?.shape == [3, 8])
    let scale = try #require(model.tensors["layer1.output_scale"])
    #expect(scale.shape == [3, 8] && scale.values.contains { $0 != 1 }, "the scales were trained")
    try RawTableTests.expectExportAndReaderAgree(
      dir, lines: trained.lines, compared: 1..<3, op: "ReduceMean")
    let continued = try CommandRunner.mlpc([
      "run", dir + "/s.yaml", "--init-from", dir + "/run", "--epochs", "1", "--quiet", "--out",
      dir + "/continued", "--set", "training.learning_rate=0.0000001",
    ])
    #expect(continued.status == 0, "\(continued.stderr)")
    let next = try Model.load(dir + "/continued")
    let moved = zip(next.tensors["layer1.output_scale"]!.values, scale.values).map { abs($0 - $1) }
    #expect(moved.max()! < 1e-4, "the scales start from the model's: \(moved)")
  }
}

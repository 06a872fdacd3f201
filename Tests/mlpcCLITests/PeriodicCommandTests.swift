// `embedding: periodic` through the command line on a raw table: `mlpc plan` lists each
// periodic embedding and its ops, gradcheck covers the frequencies and the (shared) linear
// layers, the model holds their tensors, ONNX Runtime and the numpy reader equal `mlpc predict`,
// and `--init-from` and `--resume` carry the tensors. (Three steps equal rtdl_num_embeddings'
// PeriodicEmbeddings in PeriodicTests.)

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct PeriodicCommandTests {
  static let spec = """
    task: classification
    layers: [{units: 8, activation: relu}, {units: 2, activation: softmax}]
    data:
      train: d.csv
      target: kind
      features:
        city: categorical
        size: {type: numeric, embedding: periodic, frequencies: 6, dim: 4, sigma: 0.3}
        weight: {type: numeric, scale: robust_smooth_clip, embedding: periodic, lite: true, frequencies: 4, dim: 3}
    training: {epochs: 40, optimizer: adamw, learning_rate: 0.03, weight_decay: 0.01}
    """

  @Test func itIsPlannedCheckedTrainedAndAppliedEverywhere() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let trained = try RawTableTests.trainMixedTable(dir, spec: Self.spec)
    let plan = trained.plan
    #expect(plan.contains("size     numeric: no missing, standard, periodic 6 → 4 "), "\(plan)")
    #expect(plan.contains("weight   numeric: no missing, robust_smooth_clip, periodic 4 → 3 lite"))
    for text in [
      "periodic  frequencies  linear", "12→4", "8→3 (lite, shared)", "periodic_backward",
      "periodic        %",
    ] {
      #expect(plan.contains(text), "\(text) in \(plan)")
    }
    for tensor in [
      "size.periodic.weight", "size.periodic.bias", "periodic.lite.weight",
      "size.periodic.frequencies", "weight.periodic.frequencies",
    ] {
      #expect(trained.gradcheck.contains(tensor + " "), "\(tensor) in \(trained.gradcheck)")
    }
    let model = trained.model
    #expect(model.network.input == 6 + 4 + 3)
    #expect(model.tensors["size.periodic.weight"]?.shape == [4, 12])
    #expect(model.tensors["periodic.lite.weight"]?.shape == [3, 8])
    #expect(model.tensors["weight.periodic.frequencies"]?.shape == [4])
    try RawTableTests.expectExportAndReaderAgree(
      dir, lines: trained.lines, compared: 1..<3, op: "Concat Cos")
    let evaluated = try CommandRunner.mlpc(["evaluate", dir + "/run", dir + "/d.csv"])
    #expect(
      evaluated.status == 0 && evaluated.stdout.contains("accuracy 1.0000"), "\(evaluated.stdout)")
    // --init-from starts from the model's periodic tensors; a spec with other sizes is refused.
    let continued = try CommandRunner.mlpc([
      "run", dir + "/s.yaml", "--init-from", dir + "/run", "--epochs", "1", "--quiet", "--out",
      dir + "/continued", "--set", "training.learning_rate=0.0000001",
    ])
    #expect(continued.status == 0, "\(continued.stderr)")
    let next = try Model.load(dir + "/continued")
    let before = try #require(model.tensors["size.periodic.frequencies"]?.values)
    let after = try #require(next.tensors["size.periodic.frequencies"]?.values)
    #expect(zip(before, after).map { abs($0 - $1) }.max()! < 1e-4, "\(before) → \(after)")
    let wider = Self.spec.replacingOccurrences(of: "frequencies: 6", with: "frequencies: 7")
    try wider.write(toFile: dir + "/w.yaml", atomically: true, encoding: .utf8)
    let refused = try CommandRunner.mlpc([
      "run", dir + "/w.yaml", "--init-from", dir + "/run", "--quiet", "--out", dir + "/wider",
    ])
    #expect(
      refused.status == 1 && refused.stderr.contains("'size.periodic.weight' is 4×14 here"),
      "\(refused.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/wider"))
  }
}

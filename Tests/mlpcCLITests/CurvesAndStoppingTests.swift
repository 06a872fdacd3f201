// Early stopping and learning curves, end to end.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct EarlyStoppingTests {
  /// With a min_delta no epoch can beat, training stops `patience` epochs after the first, and
  /// restore_best saves the first epoch's weights: the same tensors as a one-epoch run.
  @Test func stopsAfterPatienceAndRestoresTheBestEpoch() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec = """
      task: classification
      input: 2
      layers: [{units: 8, activation: tanh}, {units: 3, activation: softmax}]
      data: {generator: blobs, samples: 200, validation_split: 0.2}
      training:
        epochs: 50
        early_stopping: {monitor: validation_loss, patience: 3, min_delta: 1000000}
      """
    try spec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    let run = try CommandRunner.mlpc(["run", dir + "/spec.yaml", "--quiet", "--out", dir + "/es"])
    #expect(run.status == 0, "\(run.stderr)")
    let summary =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: dir + "/es/summary.json"))) as? [String: Any]
    #expect(summary?["status"] as? String == "early stopped")
    #expect(summary?["epochs_completed"] as? Int == 4)
    #expect(summary?["best_epoch"] as? Int == 1)
    #expect((summary?["stopped_because"] as? String)?.contains("validation_loss") == true)
    let one = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--quiet", "--epochs", "1", "--out", dir + "/one",
    ])
    #expect(one.status == 0)
    let tensors = { (run: String) in
      Safetensors.decode(try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors")))?
        .tensors
    }
    #expect(try tensors(dir + "/es") == tensors(dir + "/one"))
  }
}

@Suite struct CurvesTests {
  /// Every run writes curves.svg; `mlpc curves` draws several runs; both render as images with
  /// the expected series.
  @Test func curvesRenderWithTheirSeries() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for name in ["a", "b"] {
      let run = try CommandRunner.mlpc([
        "run", "specs/iris.yaml", "--quiet", "--epochs", "5", "--out", "\(dir)/\(name)",
      ])
      #expect(run.status == 0)
    }
    let own = try String(contentsOfFile: dir + "/a/curves.svg", encoding: .utf8)
    for id in ["iris-train-loss", "iris-test-loss", "iris-test-accuracy"] {
      #expect(own.contains("id=\"\(id)\""), "\(id)")
    }
    let both = try CommandRunner.mlpc(["curves", dir + "/a", dir + "/b", "--out", dir + "/ab.svg"])
    #expect(both.status == 0, "\(both.stderr)")
    let svg = try String(contentsOfFile: dir + "/ab.svg", encoding: .utf8)
    #expect(svg.contains("id=\"a-test-accuracy\"") && svg.contains("id=\"b-test-accuracy\""))
    guard let rsvg = CommandRunner.which("rsvg-convert") else {
      #expect(ProcessInfo.processInfo.environment["CI"] == nil, "rsvg-convert is not installed")
      return
    }
    for file in ["/a/curves.svg", "/ab.svg"] {
      let png = dir + file + ".png"
      let render = try CommandRunner.run(rsvg, [dir + file, "-o", png])
      #expect(render.status == 0, "\(render.stderr)")
      let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
      #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) && bytes.count > 2000)
    }
  }
}

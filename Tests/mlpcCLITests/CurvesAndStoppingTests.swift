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

extension CurvesTests {
  /// A long run's curves hold at most 1000 points a series, spread from the first epoch to the
  /// last, while metrics.jsonl keeps every epoch.
  @Test func longRunsDrawThinnedCurvesAndKeepEveryMetricsLine() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let run = try CommandRunner.mlpc([
      "run", "specs/xor.yaml", "--quiet", "--epochs", "4321", "--out", dir + "/run",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    let lines = try String(contentsOfFile: dir + "/run/metrics.jsonl", encoding: .utf8)
      .split(separator: "\n")
    #expect(lines.count == 4321)
    #expect(lines.last?.contains("\"epoch\":4321") == true)
    let svg = try String(contentsOfFile: dir + "/run/curves.svg", encoding: .utf8)
    let polyline = try #require(
      svg.split(separator: "\n").first { $0.contains("id=\"xor-train-loss\"") })
    let points = try #require(
      polyline.split(separator: "\"").drop { $0 != " points=" }.dropFirst().first
    )
    .split(separator: " ")
    #expect(points.count > 500 && points.count <= 1000, "\(points.count)")
    // The x axis runs from epoch 1 to 4321 and the last point sits on its right edge.
    #expect(svg.contains(">4321</text>"))
    let xs = points.compactMap { Double($0.split(separator: ",")[0]) }
    #expect(xs.last == xs.max() && xs.first == xs.min())
  }

  @Test func thinnedKeepsEndsAndLimit() {
    let xs = Array(0..<10_001)
    let t = Curves.thinned(xs, limit: 1000)
    #expect(t.count == 1000 && t.first == 0 && t.last == 10_000)
    #expect(zip(t, t.dropFirst()).allSatisfy { $0 < $1 })
    #expect(Curves.thinned(Array(0..<5), limit: 1000) == Array(0..<5))
  }
}

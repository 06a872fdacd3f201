// Early stopping and learning curves, end to end.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

#if canImport(FoundationXML)
  import FoundationXML
#endif

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
    // The x axis runs from epoch 1 to 4321: the last point sits on the plot's right edge, and
    // the round ticks reach 4000.
    let xs = points.compactMap { Double($0.split(separator: ",")[0]) }
    #expect(xs.last == xs.max() && xs.first == xs.min())
    #expect(xs.last == 70 + 340 && xs.first == 70)
    #expect(svg.contains(">4000</text>"))
  }

  @Test func thinnedKeepsEndsAndLimit() {
    let xs = Array(0..<10_001)
    let t = Curves.thinned(xs, limit: 1000)
    #expect(t.count == 1000 && t.first == 0 && t.last == 10_000)
    #expect(zip(t, t.dropFirst()).allSatisfy { $0 < $1 })
    #expect(Curves.thinned(Array(0..<5), limit: 1000) == Array(0..<5))
  }
}

extension CurvesTests {
  /// Twelve runs compared: one colour per run in every panel, all colours different, the legend
  /// below the plots (nothing over a curve), ticks, gridlines and axis titles; options.
  @Test func manyRunsKeepTheirColoursAndTheLegendStaysOutside() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var runs: [String] = []
    for i in 1...12 {
      let out = "\(dir)/run-\(i)"
      let run = try CommandRunner.mlpc([
        "run", "specs/iris.yaml", "--quiet", "--epochs", "6", "--out", out, "--set",
        "training.learning_rate=0.0\(i)",
      ])
      #expect(run.status == 0, "\(run.stderr)")
      runs.append(out)
    }
    let drawn = try CommandRunner.mlpc(["curves"] + runs + ["--out", dir + "/all.svg"])
    #expect(drawn.status == 0, "\(drawn.stderr)")
    let svg = try String(contentsOfFile: dir + "/all.svg", encoding: .utf8)
    let lines = svg.split(separator: "\n")
    func attribute(_ line: Substring, _ name: String) -> String? {
      guard let r = line.range(of: " \(name)=\"") else { return nil }
      return String(line[r.upperBound...].prefix { $0 != "\"" })
    }
    var colours: [String: Set<String>] = [:]
    for line in lines where line.hasPrefix("<polyline") {
      let id = attribute(line, "id") ?? ""
      let run = String(id.split(separator: "-").prefix(2).joined(separator: "-"))
      colours[run, default: []].insert(attribute(line, "stroke") ?? "")
    }
    #expect(colours.count == 12)
    #expect(colours.values.allSatisfy { $0.count == 1 }, "\(colours)")
    #expect(Set(colours.values.map { $0.first! }).count == 12)
    // Every legend item is below the plots' bottom edge (top 40 + height 240).
    let legend = lines.filter { $0.hasPrefix("<g transform=\"translate(") }
    #expect(legend.count == 12 + 2)
    for item in legend {
      let numbers = item.split(separator: "(")[1].split(separator: ")")[0].split(separator: " ")
      #expect((Double(numbers[1]) ?? 0) > 280 + 30, "\(item)")
    }
    let height = Double(attribute(lines[0], "height") ?? "") ?? 0
    #expect(height > 360)
    #expect(svg.contains("class=\"grid\"") && svg.contains(">epoch</text>"))
    // Options: one split, another metric, the loss forced onto a log scale.
    let options = try CommandRunner.mlpc([
      "curves", runs[0], "--split", "test", "--metric", "loss", "--log", "--out", dir + "/o.svg",
    ])
    #expect(options.status == 0, "\(options.stderr)")
    let o = try String(contentsOfFile: dir + "/o.svg", encoding: .utf8)
    #expect(o.contains("(log scale)") && !o.contains("-train-loss") && o.contains("-test-loss"))
    #expect(!o.contains("panel-accuracy"))
    let bad = try CommandRunner.mlpc(["curves", runs[0], "--metric", "f1"])
    #expect(bad.status == 2)
    guard let rsvg = CommandRunner.which("rsvg-convert") else { return }
    let render = try CommandRunner.run(rsvg, [dir + "/all.svg", "-o", dir + "/all.png"])
    #expect(render.status == 0, "\(render.stderr)")
  }

  /// A run that stopped early shows its best epoch and its stop; a loss over decades is on a
  /// log scale by itself.
  @Test func markersAndAutomaticLogScale() {
    let reports = (1...30).map { e in
      EpochReport(
        epoch: e, trainLoss: 100 * pow(0.7, Double(e)),
        validation: Evaluation(loss: 100 * pow(0.7, Double(min(e, 20))) + 0.01, accuracy: 0.5),
        test: nil, seconds: 0, steps: 1)
    }
    let svg = Curves.svg([CurveRun(label: "r", epochs: reports, bestEpoch: 20, stoppedEpoch: 30)])
    #expect(svg.contains("loss per epoch (log scale)"))
    #expect(svg.contains("class=\"best\"") && svg.contains("r: best epoch 20"))
    #expect(svg.contains("class=\"stop\"") && svg.contains("r: early stop at epoch 30"))
    let flat = Curves.svg([CurveRun(label: "r", epochs: Array(reports.suffix(3)))])
    #expect(!flat.contains("(log scale)"))
  }
}

extension CurvesTests {
  /// A sweep directory: every run's (every fold's) curves, and below them the ranking metric
  /// against each varied setting.
  @Test func aSweepDirectoryDrawsItsRunsAndItsView() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let sweep = try CommandRunner.mlpc([
      "sweep", "specs/iris.yaml", "--search", "training.learning_rate=log(0.01,0.3)", "--search",
      "training.optimizer=choice(sgd,adam)", "--trials", "3", "--cv", "2", "--epochs", "4",
      "--out", dir + "/s",
    ])
    #expect(sweep.status == 0, "\(sweep.stderr)")
    let drawn = try CommandRunner.mlpc(["curves", dir + "/s", "--out", dir + "/s.svg"])
    #expect(drawn.status == 0, "\(drawn.stderr)")
    let svg = try String(contentsOfFile: dir + "/s.svg", encoding: .utf8)
    #expect(svg.components(separatedBy: "-train-loss\"").count - 1 == 6)  // 3 runs × 2 folds
    #expect(svg.contains("01/fold-1") && svg.contains("03/fold-2"))
    #expect(svg.contains("validation_accuracy against training.learning_rate"))
    #expect(svg.contains("validation_accuracy against training.optimizer"))
    #expect(svg.components(separatedBy: "class=\"run\"").count - 1 == 6)  // 3 points × 2 panels
    #expect(XMLParser(data: Data(svg.utf8)).parse())
    guard let rsvg = CommandRunner.which("rsvg-convert") else { return }
    let render = try CommandRunner.run(rsvg, [dir + "/s.svg", "-o", dir + "/s.png"])
    #expect(render.status == 0, "\(render.stderr)")
  }
}

// What `mlpc run` prints: epoch lines with the names metrics.jsonl uses, numbers in columns that
// stay aligned, real durations, the learning rate when it changes, every Nth epoch with
// --log-every, "resuming from" on resume, and a last line saying how training ended.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@testable import mlpc

/// A folder with a small classification table that overfits soon, and `s.yaml` training it with
/// Adam at 0.05 and the further `training` lines given (indented two spaces).
func stoppingTable(_ training: String) throws -> String {
  let dir = Repository.temporaryDirectory()
  var csv = "a,b,label\n"
  for i in 0..<80 { csv += "\(i % 9),\((i * 7) % 5),\(i % 9 > 4 ? 1 : 0)\n" }
  try csv.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
  let spec = """
    task: classification
    layers: [{units: 8, activation: tanh}, {units: 2, activation: softmax}]
    data: {train: d.csv, target: label, validation_split: 0.25}
    training:
      optimizer: adam
      learning_rate: 0.05

    """
  try (spec + training + "\n").write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
  return dir
}

@Suite struct ConsoleTests {
  @Test func numbersKeepTheirColumnsAndDurationsTheirUnits() {
    for x in [0.0, 0.000123, 1.5, 99.999, 123.456, 12345.6, 1e7, -0.5] {
      #expect(column(x).count == 10, "\(x) → '\(column(x))'")
    }
    #expect(column(0.000123) == "  0.000123" && column(1e7) == " 1.000e+07")
    #expect(duration(0.00085) == "850 µs" && duration(0.0123) == "12.3 ms")
    #expect(duration(2.414) == "2.41 s" && duration(185) == "3 min 05 s")
  }

  @Test func epochLinesUseTheJSONNames() {
    let r = EpochReport(
      epoch: 7, trainLoss: 0.25, validation: Evaluation(loss: 0.5, accuracy: 0.9), test: nil,
      seconds: 0.004, steps: 3, learningRate: 0.05)
    let line = epochLine(r, epochs: 200, rate: 0.05)
    #expect(
      line
        == "epoch   7/200  train_loss   0.250000  validation_loss   0.500000  validation_accuracy 0.9000  4.0 ms  learning_rate 0.05",
      "\(line)")
  }

  @Test func aRunSaysHowItEndedAndResumingSaysFromWhere() throws {
    let dir = try stoppingTable(
      """
        epochs: 2000
        schedule: {type: step, step_size: 3, gamma: 0.5}
        early_stopping: {monitor: validation_loss, patience: 4, restore_best: true}
      """)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let run = try CommandRunner.mlpc(["run", dir + "/s.yaml", "--out", dir + "/run"])
    #expect(run.status == 0, "\(run.stderr)")
    let lines = run.stdout.split(separator: "\n").map(String.init)
    let summary =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: dir + "/run/summary.json"))) as? [String: Any]
    let stopped = try #require(summary?["epochs_completed"] as? Int)
    let restored = try #require(summary?["restored_epoch"] as? Int)
    #expect(restored == stopped - 4)
    #expect(
      lines.last
        == "early stopped at epoch \(stopped) of 2000: 'validation_loss' did not improve for 4 epochs; the model holds epoch \(restored), the best (restore_best)",
      "\(lines.suffix(3))")
    // The rate shows on the first line and when the schedule halves it (epochs 4, 7, …).
    let epochLines = lines.filter { $0.hasPrefix("epoch ") }
    #expect(epochLines[0].hasSuffix("learning_rate 0.05"), "\(epochLines[0])")
    #expect(
      !epochLines[1].contains("learning_rate") && epochLines[3].hasSuffix("learning_rate 0.025"))
    #expect(epochLines.allSatisfy { $0.contains("validation_loss") && !$0.contains("val_") })
    // Every 5th epoch (and the first and last) with --log-every 5; a plain completion.
    try String(contentsOfFile: dir + "/s.yaml", encoding: .utf8)
      .replacingOccurrences(of: "  early_stopping:", with: "  # early_stopping:")
      .write(toFile: dir + "/plain.yaml", atomically: true, encoding: .utf8)
    let sparse = try CommandRunner.mlpc([
      "run", dir + "/plain.yaml", "--out", dir + "/sparse", "--epochs", "12", "--log-every", "5",
    ])
    #expect(sparse.status == 0, "\(sparse.stderr)")
    let shown = sparse.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.map {
      $0.split(separator: " ", omittingEmptySubsequences: true)[1]
    }
    #expect(shown == ["1/12", "5/12", "10/12", "12/12"], "\(sparse.stdout)")
    #expect(sparse.stdout.hasSuffix("completed 12 epochs\n"), "\(sparse.stdout)")
    let resumed = try CommandRunner.mlpc(["run", "--resume", dir + "/sparse", "--epochs", "14"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(resumed.stdout.hasPrefix("resuming from epoch 13 of 14\n"), "\(resumed.stdout)")
  }
}

@Suite struct EpochsOptionTests {
  @Test func epochsOnANewRunIsTheSpecsEpochs() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try """
    task: regression
    input: 1
    layers: [{units: 4, activation: tanh}, {units: 1, activation: identity}]
    data: {generator: sine, dimensions: 1, samples: 64}
    training:
      epochs: 100
      optimizer: adam
      learning_rate: 0.01
      schedule: {type: cosine, min_learning_rate: 0.001}
    """.write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
    func rates(_ run: String) throws -> [Double] {
      try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
        .split(separator: "\n").compactMap {
          let record = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
          return record?["learning_rate"] as? Double
        }
    }
    let flag = try CommandRunner.mlpc([
      "run", dir + "/s.yaml", "--epochs", "10", "--quiet", "--out", dir + "/flag",
    ])
    let set = try CommandRunner.mlpc([
      "run", dir + "/s.yaml", "--set", "training.epochs=10", "--quiet", "--out", dir + "/set",
    ])
    #expect(flag.status == 0 && set.status == 0, "\(flag.stderr)\(set.stderr)")
    let (a, b) = (try rates(dir + "/flag"), try rates(dir + "/set"))
    #expect(a.count == 10 && a == b)
    // The cosine ends at its minimum in epoch 10, not at epoch 100.
    #expect(abs(a[9] - (0.001 + 0.009 * (1 + cos(Double.pi * 9 / 10)) / 2)) < 1e-12)
    let both = try CommandRunner.mlpc([
      "run", dir + "/s.yaml", "--epochs", "10", "--set", "training.epochs=10",
    ])
    #expect(both.status == 2 && both.stderr.contains("give one of them"))
    // Resumed past the period: the rule is said.
    let resumed = try CommandRunner.mlpc(["run", "--resume", dir + "/flag", "--epochs", "12"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(
      resumed.stdout.contains("the cosine schedule keeps its period (T_max 10")
        && resumed.stdout.contains("after epoch 10 the rate rises again"), "\(resumed.stdout)")
  }
}

@Suite struct ResumeChangeTests {
  @Test func aStoppedRunContinuesWithSafeChangesAndRefusesTheRest() throws {
    let dir = try stoppingTable(
      """
        epochs: 400
        early_stopping: {monitor: validation_loss, patience: 3}
      """)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let run = dir + "/run"
    let first = try CommandRunner.mlpc(["run", dir + "/s.yaml", "--quiet", "--out", run])
    #expect(first.status == 0, "\(first.stderr)")
    func completed() throws -> Int {
      let s =
        try JSONSerialization.jsonObject(
          with: Data(contentsOf: URL(fileURLWithPath: run + "/summary.json"))) as? [String: Any]
      return s?["epochs_completed"] as? Int ?? -1
    }
    let stopped = try completed()
    #expect(stopped < 400)
    // Unsafe: refused with the reason, nothing touched.
    let refused = try CommandRunner.mlpc([
      "run", "--resume", run, "--set", "training.learning_rate=0.1",
    ])
    #expect(
      refused.status == 2 && refused.stderr.contains("cannot change 'training.learning_rate'"))
    #expect(refused.stderr.contains("--init-from"))
    #expect(try completed() == stopped)
    // Resumed as it is: patience counts again from where it stopped (≥ 3 more epochs).
    let plain = try CommandRunner.mlpc(["run", "--resume", run])
    #expect(plain.status == 0, "\(plain.stderr)")
    #expect(plain.stdout.contains("the run had stopped early after epoch \(stopped)"))
    let second = try completed()
    #expect(second >= stopped + 3, "\(stopped) → \(second)")
    // More patience: 10 epochs without improvement now, 3 of which have passed.
    let patient = try CommandRunner.mlpc([
      "run", "--resume", run, "--set", "training.early_stopping.patience=10", "--quiet",
    ])
    #expect(patient.status == 0, "\(patient.stderr)")
    let again = try completed()
    #expect(again >= second + 7, "\(second) → \(again)")
    let config = try String(contentsOfFile: run + "/config.json", encoding: .utf8)
    #expect(config.contains("training.early_stopping.patience=10"))
    // Early stopping off, to 10 more epochs than now: all of them.
    let off = try CommandRunner.mlpc([
      "run", "--resume", run, "--set", "training.early_stopping=null", "--set",
      "training.epochs=\(again + 10)", "--quiet",
    ])
    #expect(off.status == 0, "\(off.stderr)")
    #expect(try completed() == again + 10)
  }
}

@Suite struct InitFromTests {
  @Test func aNewRunStartsFromTrainedWeightsOfTheSameShapes() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let first = try CommandRunner.mlpc([
      "run", "specs/iris.yaml", "--epochs", "30", "--quiet", "--out", dir + "/a", "--set",
      "front_scale=true",
    ])
    #expect(first.status == 0, "\(first.stderr)")
    let trained = try Model.load(dir + "/a")
    #expect(trained.tensors[Network.frontScaleName]?.values.contains { $0 != 1 } == true)
    // At a learning rate near 0 the new run's weights (and front scale) stay the trained ones.
    let second = try CommandRunner.mlpc([
      "run", "specs/iris.yaml", "--epochs", "1", "--quiet", "--out", dir + "/b", "--init-from",
      dir + "/a", "--set", "training.learning_rate=1e-12", "--set", "front_scale=true",
    ])
    #expect(second.status == 0, "\(second.stderr)")
    let started = try Model.load(dir + "/b")
    for (name, tensor) in trained.tensors
    where name.hasSuffix(".weight") || name == Network.frontScaleName {
      let other = try #require(started.tensors[name]?.values)
      #expect(zip(tensor.values, other).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($0)) })
    }
    let config = try String(contentsOfFile: dir + "/b/config.json", encoding: .utf8)
    #expect(config.contains("\"init_from\" : \"\(dir)/a\""), "\(config)")
    // A layer of another width: located at its units, and no run directory is left.
    let wider = try CommandRunner.mlpc([
      "run", "specs/iris.yaml", "--out", dir + "/c", "--init-from", dir + "/a", "--set",
      "layers[1].units=3", "--set", "layers[0].units=9",
    ])
    #expect(wider.status == 1)
    #expect(
      wider.stderr.contains("--set #2:1:17: --init-from")
        && wider.stderr.contains("layer 1 ('hidden') has W of 9×4 here but"), "\(wider.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/c"))
    let missing = try CommandRunner.mlpc([
      "run", "specs/iris.yaml", "--out", dir + "/d", "--init-from", dir + "/nothing",
    ])
    #expect(missing.status == 1 && missing.stderr.contains("--init-from"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/d"))
    let both = try CommandRunner.mlpc(["run", "--resume", dir + "/a", "--init-from", dir + "/a"])
    #expect(both.status == 2)
  }
}

@Suite struct ProvenanceTests {
  @Test func theRunKeepsTheSpecAsWrittenAndAsRun() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let run = try CommandRunner.mlpc([
      "run", "specs/iris.yaml", "--epochs", "2", "--set", "layers[0].units=5", "--quiet", "--out",
      dir + "/r",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    let written = try String(contentsOfFile: dir + "/r/spec.yaml", encoding: .utf8)
    #expect(
      written == (try String(contentsOfFile: Repository.path("specs/iris.yaml"), encoding: .utf8)))
    let resolved = try String(contentsOfFile: dir + "/r/spec.resolved.yaml", encoding: .utf8)
    #expect(
      resolved.hasPrefix(
        "# iris.yaml with --set 'layers[0].units=5' --epochs 'training.epochs=2'\n"))
    #expect(resolved.contains("  units: 5\n") && resolved.contains("  epochs: 2\n"))
    // The model (and so the ONNX export) describes the spec as run.
    let model = try Model.load(dir + "/r")
    #expect(model.description.spec == resolved)
    // Without overrides both are the spec as written.
    let plain = try CommandRunner.mlpc(["run", "specs/xor.yaml", "--quiet", "--out", dir + "/x"])
    #expect(plain.status == 0)
    #expect(
      try String(contentsOfFile: dir + "/x/spec.resolved.yaml", encoding: .utf8)
        == (try String(contentsOfFile: Repository.path("specs/xor.yaml"), encoding: .utf8)))
  }
}

extension ProvenanceTests {
  /// A spec given relative is recorded relative to the run, so the project can move and the
  /// run still resumes.
  @Test func aRelativeSpecPathStaysRelativeAndMovesWithTheRun() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let project = dir + "/project"
    try FileManager.default.createDirectory(
      atPath: project + "/specs", withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      atPath: Repository.path("specs/data"), toPath: project + "/specs/data")
    try FileManager.default.copyItem(
      atPath: Repository.path("specs/iris.yaml"), toPath: project + "/specs/iris.yaml")
    let run = try CommandRunner.mlpc(
      ["run", "specs/iris.yaml", "--epochs", "3", "--quiet", "--out", "runs/x"], in: project)
    #expect(run.status == 0, "\(run.stderr)")
    let config = try String(contentsOfFile: project + "/runs/x/config.json", encoding: .utf8)
    #expect(
      config.contains("\"spec_file\" : \"..\\/..\\/specs\\/iris.yaml\"")
        || config.contains("\"spec_file\" : \"../../specs/iris.yaml\""), "\(config)")
    #expect(!config.contains(dir))
    try FileManager.default.moveItem(atPath: project, toPath: dir + "/moved")
    let resumed = try CommandRunner.mlpc(
      ["run", "--resume", "runs/x", "--epochs", "5", "--quiet"], in: dir + "/moved")
    #expect(resumed.status == 0, "\(resumed.stderr)")
  }
}

@Suite struct RefitCommandTests {
  /// `early_stopping.refit`: a line when the second training begins, epoch lines numbered on
  /// without validation metrics, the last line saying what the model is; --init-from and a
  /// changed length are refused with the reason, leaving nothing behind.
  @Test func aRefitSaysWhatItTrainsAndRefusesWhatItCannotDo() throws {
    let dir = try stoppingTable(
      """
        epochs: 2000
        checkpoint: {every: 2}
        early_stopping: {monitor: validation_loss, patience: 4, refit: true}
      """)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let run = try CommandRunner.mlpc(["run", dir + "/s.yaml", "--out", dir + "/run"])
    #expect(run.status == 0, "\(run.stderr)")
    let summary =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: dir + "/run/summary.json"))) as? [String: Any]
    let after = try #require(summary?["refit_after"] as? Int)
    let best = try #require(summary?["best_epoch"] as? Int)
    #expect(summary?["refit_samples"] as? Int == 80 && summary?["train_samples"] as? Int == 60)
    let lines = run.stdout.split(separator: "\n").map(String.init)
    #expect(
      lines.contains(
        "training again from the start on all 80 rows (training and validation) for \(best) epochs, the best epoch's number (early_stopping.refit)"
      ), "\(lines)")
    #expect(
      lines.last
        == "early stopped at epoch \(after): 'validation_loss' did not improve for 4 epochs; the model trained again on 80 rows for \(best) epochs, the best epoch's number (refit)",
      "\(lines.suffix(3))")
    let epochLines = lines.filter { $0.hasPrefix("epoch ") }
    #expect(epochLines.count == after + best)
    #expect(
      epochLines[after].contains(" \(after + 1)/\(after + best) "), "\(epochLines[after])")
    #expect(epochLines.prefix(after).allSatisfy { $0.contains("validation_loss") })
    #expect(epochLines.dropFirst(after).allSatisfy { !$0.contains("validation_loss") })

    // A finished refit is not continued, and --init-from does not go with it.
    let again = try CommandRunner.mlpc(
      ["run", "--resume", dir + "/run", "--epochs", "3000", "--quiet"])
    #expect(again.status == 1 && again.stderr.contains("early_stopping.refit"), "\(again.stderr)")
    let from = try CommandRunner.mlpc(
      ["run", dir + "/s.yaml", "--out", dir + "/from", "--init-from", dir + "/run", "--quiet"])
    #expect(from.status == 1 && from.stderr.contains("--init-from does not go with"))
    let left = try FileManager.default.contentsOfDirectory(atPath: dir)
    #expect(!left.contains { $0.contains("from") }, "\(left)")
  }
}

/// On a pipe (no progress bar), a line inside a long epoch says the run is alive.
@Test func aPipeGetsALineInsideLongEpochs() {
  final class Lines: @unchecked Sendable { var all: [String] = [] }
  let lines = Lines()
  let display = ProgressDisplay(
    quiet: false, epochs: 3, steps: 100, periodSeconds: 0, write: { lines.all.append($0) })
  guard !display.terminal else { return }  // a terminal draws the bar instead
  display.step(epoch: 2, step: 40)
  #expect(lines.all.count == 1 && lines.all[0].hasPrefix("epoch 2/3 step 40/100, "))
  let quiet = ProgressDisplay(
    quiet: true, epochs: 3, steps: 100, periodSeconds: 0, write: { lines.all.append($0) })
  quiet.step(epoch: 2, step: 41)
  #expect(lines.all.count == 1)
}

// Search: random draws from a seed, k-fold cross-validation whose folds are scikit-learn's
// StratifiedKFold (no shuffling) and whose fold scores equal mlpc runs trained on those folds as
// files, ranking by --metric, and the warning when runs would be ranked by training loss.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct SearchTests {
  @Test func distributionsDrawInsideTheirRangesFromTheSeed() throws {
    let axes = try [
      "training.learning_rate=log(1e-4,1e-1)", "layers[0].units=int(4,8)",
      "training.momentum=uniform(0.5,0.9)", "training.optimizer=choice(sgd,adam)",
    ].map { try SearchAxis.parse($0).get() }
    let trials = SearchAxis.trials(axes, count: 200, seed: 3)
    #expect(trials == SearchAxis.trials(axes, count: 200, seed: 3))
    #expect(trials != SearchAxis.trials(axes, count: 200, seed: 4))
    let rates = trials.compactMap { Double($0[0]) }
    #expect(rates.count == 200 && rates.allSatisfy { $0 >= 1e-4 && $0 <= 0.1 })
    // Log-uniform: about a third of the draws in each decade.
    #expect((40...95).contains(rates.count { $0 < 1e-3 }))
    #expect(Set(trials.map { $0[1] }) == ["4", "5", "6", "7", "8"])
    #expect(trials.compactMap { Double($0[2]) }.allSatisfy { $0 >= 0.5 && $0 <= 0.9 })
    #expect(Set(trials.map { $0[3] }) == ["sgd", "adam"])
    for bad in ["x=log(0,1)", "x=uniform(2,1)", "x=int(1.5,3)", "x=normal(0,1)", "x", "x=choice()"]
    {
      if case .success = SearchAxis.parse(bad) { Issue.record("\(bad) was accepted") }
    }
  }

  /// The folds are StratifiedKFold's, and each fold's validation loss is the test loss of an
  /// mlpc run on that fold's rows written as files.
  @Test func crossValidationFoldsAreScikitLearnsAndTheirScoresMlpcs() throws {
    guard let python = CommandRunner.pythonWith(["sklearn", "numpy"]) else { return }
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let train = Repository.path("specs/data/iris-train.csv")
    let script = """
      import csv, sys
      from sklearn.model_selection import StratifiedKFold
      rows = list(csv.reader(open(sys.argv[1])))
      header, rows = rows[0], rows[1:]
      y = [r[header.index("species")] for r in rows]
      for k, (tr, te) in enumerate(StratifiedKFold(n_splits=5).split(rows, y)):
          for name, part in (("train", tr), ("held", te)):
              with open(f"{sys.argv[2]}/fold{k}-{name}.csv", "w", newline="") as f:
                  w = csv.writer(f, lineterminator="\\n")
                  w.writerow(header)
                  w.writerows(rows[i] for i in part)
          print(",".join(str(i) for i in te))
      """
    let folds = try CommandRunner.run(python, ["-c", script, train, dir])
    #expect(folds.status == 0, "\(folds.stderr)")
    let held = folds.stdout.split(separator: "\n").map { $0.split(separator: ",").map { Int($0)! } }
    #expect(held.count == 5)
    // The same rows, by the library.
    let result = Checker.check(file: Repository.path("specs/iris.yaml"))
    let data = try #require(result.spec?.data.train)
    for k in 0..<5 {
      let (_, validation) = data.fold(k, of: 5)
      #expect(validation.count == held[k].count)
      let mine = (0..<validation.count).map { validation.features[$0 * 4] }
      let theirs = held[k].map { data.features[$0 * 4] }
      #expect(mine == theirs, "fold \(k)")
    }
    // Fold scores: a cross-validated sweep of one run against runs on the fold files.
    let sweep = try CommandRunner.mlpc([
      "sweep", "specs/iris.yaml", "--grid", "training.learning_rate=0.05", "--cv", "5",
      "--epochs", "15", "--metric", "validation_loss", "--out", dir + "/cv",
    ])
    #expect(sweep.status == 0, "\(sweep.stderr)")
    let table = try #require(
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: dir + "/cv/sweep.json"))) as? [String: Any])
    let runs = try #require(table["runs"] as? [[String: Any]])
    let scores = try #require(runs.first?["folds"] as? [Double])
    #expect(scores.count == 5)
    for k in 0..<5 {
      let run = try CommandRunner.mlpc([
        "run", "specs/iris.yaml", "--epochs", "15", "--quiet", "--out", "\(dir)/f\(k)", "--set",
        "data.train=\(dir)/fold\(k)-train.csv", "--set", "data.test=\(dir)/fold\(k)-held.csv",
      ])
      #expect(run.status == 0, "\(run.stderr)")
      let summary = try #require(
        try JSONSerialization.jsonObject(
          with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/f\(k)/summary.json")))
          as? [String: Any])
      let loss = try #require((summary["test"] as? [String: Any])?["loss"] as? Double)
      #expect(abs(loss - scores[k]) <= 1e-9 * max(1, loss), "fold \(k): \(loss) vs \(scores[k])")
    }
  }

  @Test func rankingByTrainingLossIsWarnedAbout() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let plain = try CommandRunner.mlpc([
      "sweep", "specs/iris.yaml", "--search", "training.learning_rate=log(0.01,0.1)", "--trials",
      "2", "--epochs", "2", "--out", dir + "/s",
    ])
    #expect(plain.status == 0, "\(plain.stderr)")
    #expect(plain.stderr.contains("ranked by their training loss"))
    let chosen = try CommandRunner.mlpc([
      "sweep", "specs/iris.yaml", "--search", "training.learning_rate=log(0.01,0.1)", "--trials",
      "2", "--epochs", "2", "--metric", "test_accuracy", "--out", dir + "/t",
    ])
    #expect(chosen.status == 0 && !chosen.stderr.contains("training loss"))
    #expect(chosen.stdout.contains("sorted by test_accuracy (highest first)"))
    let both = try CommandRunner.mlpc([
      "sweep", "specs/iris.yaml", "--grid", "training.seed=1", "--search",
      "training.learning_rate=log(0.01,0.1)",
    ])
    #expect(both.status == 2)
  }
}

extension SearchTests {
  /// Two processes at once give the runs one process gives (each with half the cores).
  @Test func parallelTrialsEqualSequentialOnes() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    func table(_ jobs: Int) throws -> [[String: Any]] {
      let out = "\(dir)/j\(jobs)"
      let sweep = try CommandRunner.mlpc([
        "sweep", "specs/iris.yaml", "--search", "training.learning_rate=log(0.01,0.3)",
        "--search", "layers[0].units=int(4,16)", "--trials", "3", "--seed", "5", "--cv", "2",
        "--epochs", "8", "--jobs", "\(jobs)", "--out", out,
      ])
      #expect(sweep.status == 0, "\(sweep.stderr)")
      let json = try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: out + "/sweep.json")))
      return (json as? [String: Any])?["runs"] as? [[String: Any]] ?? []
    }
    let (one, two) = (try table(1), try table(2))
    #expect(one.count == 3 && two.count == 3)
    for (a, b) in zip(one, two) {
      #expect(a["values"] as? [String: String] == b["values"] as? [String: String])
      let (x, y) = (a["folds"] as? [Double] ?? [], b["folds"] as? [Double] ?? [.nan])
      #expect(x.count == 2 && zip(x, y).allSatisfy { abs($0 - $1) <= 1e-5 }, "\(x) vs \(y)")
    }
    // Each fold is a run directory of its own, resumable with its fold.
    let first = try #require(
      try FileManager.default.contentsOfDirectory(atPath: dir + "/j2").first { $0.hasPrefix("01-") }
    )
    let config = try String(
      contentsOfFile: "\(dir)/j2/\(first)/fold-2/config.json", encoding: .utf8)
    #expect(config.contains("\"fold\" : \"2/2\""))
  }
}

extension SearchTests {
  /// Ctrl-C during a parallel sweep: the running trainings are interrupted (and save), no new
  /// one starts, and the table of what finished is written; the exit status is the signal's.
  @Test func anInterruptedParallelSweepKeepsItsFinishedRuns() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandRunner.mlpc)
    process.currentDirectoryURL = URL(fileURLWithPath: Repository.root)
    process.arguments = [
      "sweep", "specs/digits.yaml", "--search", "training.learning_rate=log(0.01,0.1)",
      "--trials", "8", "--epochs", "3000", "--jobs", "2", "--out", dir + "/s",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    // Once a training has written an epoch, interrupt the sweep.
    let deadline = Date().addingTimeInterval(120)
    func staged() -> Bool {
      let runs = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/s")) ?? []
      // An epoch line in a run's metrics (its staging directory while it trains): the file
      // itself exists from the start, before the run can save anything.
      return runs.contains { run in
        !EpochReport.lines(ofFile: dir + "/s/" + run + "/metrics.jsonl").isEmpty
      }
    }
    while Date() < deadline, process.isRunning, !staged() { Thread.sleep(forTimeInterval: 0.02) }
    let started = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/s"))?.count ?? 0
    kill(process.processIdentifier, SIGINT)
    process.waitUntilExit()
    #expect(process.terminationStatus == 128 + SIGINT)
    let csv = try String(contentsOfFile: dir + "/s/sweep.csv", encoding: .utf8)
    #expect(csv.split(separator: "\n").count >= 2, "\(csv)")
    // No training started after the signal: at most the ones running then (two).
    let runs = try FileManager.default.contentsOfDirectory(atPath: dir + "/s").filter {
      $0.hasPrefix("0")
    }
    #expect(runs.count <= max(2, started), "\(runs)")
  }
}

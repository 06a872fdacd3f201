// The run directory under attack and bad luck: its lock cannot be stolen by a refused run or
// dodged by another spelling of the path, a killed run's staging is never adopted by another run
// and is cleaned by the next one, links planted in a run are refused before anything is touched,
// outputs never write through links, temporaries do not outlive their writer, and every failure
// says its true cause.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite(.serialized) struct RunDirectoryHostileTests {
  static let spec = """
    task: classification
    input: 2
    layers: [{units: 4, activation: tanh}, {units: 2, activation: softmax}]
    data: {train: d.csv, target: label}
    training: {epochs: 3, checkpoint: {every: 1, keep: 3}}
    """

  /// A folder with the small spec and its data.
  static func folder() throws -> String {
    let dir = Repository.temporaryDirectory()
    try "a,b,label\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n".write(
      toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    try spec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    return dir
  }

  static func hidden(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter {
      $0.hasPrefix(".")
    }.sorted()
  }

  /// A long run into `out`, started in the background once its lock exists.
  static func longRun(_ out: String, lock: String) throws -> Process {
    let first = Process()
    first.executableURL = URL(fileURLWithPath: CommandRunner.mlpc)
    first.arguments = ["run", "specs/digits.yaml", "--epochs", "60", "--quiet", "--out", out]
    first.currentDirectoryURL = URL(fileURLWithPath: Repository.root)
    first.standardOutput = FileHandle.nullDevice
    try first.run()
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline, !FileManager.default.fileExists(atPath: lock) {
      Thread.sleep(forTimeInterval: 0.01)
    }
    return first
  }

  @Test func aRefusedRunDoesNotReleaseTheLock() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let first = try Self.longRun(dir + "/run", lock: dir + "/.run.lock")
    let second = try CommandRunner.mlpc(["run", dir + "/spec.yaml", "--out", dir + "/run"])
    #expect(second.status == 1 && second.stderr.contains("another mlpc run is writing"))
    #expect(second.stderr.contains("(PID \(first.processIdentifier))"), "\(second.stderr)")
    // The lock survives the refusal: a third run, even with --force, is refused too.
    #expect(FileManager.default.fileExists(atPath: dir + "/.run.lock"))
    let third = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--force", "--quiet", "--out", dir + "/run",
    ])
    #expect(third.status == 1 && third.stderr.contains("another mlpc run is writing"))
    first.waitUntilExit()
    #expect(first.terminationStatus == 0)
    #expect(EpochReport.lines(ofFile: dir + "/run/metrics.jsonl").count == 60)
    #expect(Self.hidden(dir).isEmpty, "\(Self.hidden(dir))")
  }

  @Test func anotherSpellingOfTheDirectoryTakesTheSameLock() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(
      atPath: dir + "/deep/inner", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      atPath: dir + "/link", withDestinationPath: dir + "/deep/inner")
    let first = try Self.longRun(dir + "/deep/run", lock: dir + "/deep/.run.lock")
    // link/.. is deep/ for the kernel, dir/ for a lexical reading.
    let second = try CommandRunner.mlpc(["run", dir + "/spec.yaml", "--out", dir + "/link/../run"])
    #expect(second.status == 1 && second.stderr.contains("another mlpc run is writing"))
    first.waitUntilExit()
    #expect(first.terminationStatus == 0)
    #expect(!FileManager.default.fileExists(atPath: dir + "/run"))
    // Afterwards the second spelling writes into the same place.
    let again = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--quiet", "--force", "--out", dir + "/link/../run",
    ])
    #expect(again.status == 0, "\(again.stderr)")
    #expect(FileManager.default.fileExists(atPath: dir + "/deep/run/model.safetensors"))
    #expect(Self.hidden(dir + "/deep").isEmpty)
  }

  @Test func aSpecInAParentFolderRunsIntoItsRunsFolder() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(
      atPath: dir + "/sub", withIntermediateDirectories: false)
    let result = try CommandRunner.mlpc(["run", "../spec.yaml", "--quiet"], in: dir + "/sub")
    #expect(result.status == 0, "\(result.stderr)")
    let runs = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/runs")) ?? []
    #expect(runs.count == 1, "\(runs)")
    let run = dir + "/runs/" + (runs.first ?? "")
    #expect(FileManager.default.fileExists(atPath: run + "/model.safetensors"))
  }

  @Test func oneCharacterPathsAreNamesLikeAnyOther() throws {
    // Foundation's NSString path methods trap on these; a user types them.
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.copyItem(atPath: dir + "/spec.yaml", toPath: dir + "/s")
    let short = try CommandRunner.mlpc(["run", "s", "--quiet", "--out", "r"], in: dir)
    #expect(short.status == 0, "\(short.stderr)")
    #expect(FileManager.default.fileExists(atPath: dir + "/r/model.safetensors"))
    let slash = try CommandRunner.mlpc(["run", "s", "--quiet", "--out", "x/"], in: dir)
    #expect(slash.status == 0, "\(slash.stderr)")
    #expect(FileManager.default.fileExists(atPath: dir + "/x/model.safetensors"))
    let beside = try CommandRunner.mlpc(["run", "s", "--quiet"], in: dir)
    #expect(beside.status == 0 && FileManager.default.fileExists(atPath: dir + "/runs/s"))
    let dot = try CommandRunner.mlpc(["run", "s", "--quiet", "--out", "."], in: dir)
    #expect(dot.status == 1 && dot.stderr.contains("error:"), "\(dot.stderr)")
    let exported = try CommandRunner.mlpc(["export", "r", "--out", "m"], in: dir)
    #expect(exported.status == 0 && FileManager.default.fileExists(atPath: dir + "/m"))
    let curves = try CommandRunner.mlpc(["curves", "r", "x", "--out", "c"], in: dir)
    #expect(curves.status == 0, "\(curves.stderr)")
  }

  @Test func failuresSayTheirTrueCause() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let long = String(repeating: "n", count: 300)
    let named = try CommandRunner.mlpc(["run", dir + "/spec.yaml", "--out", dir + "/" + long])
    #expect(named.status == 1)
    #expect(named.stderr.contains("name is 300 bytes"), "\(named.stderr)")
    #expect(!named.stderr.contains("another mlpc run"))
    try "x".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
    let under = try CommandRunner.mlpc(["run", dir + "/spec.yaml", "--out", dir + "/file/run"])
    #expect(under.status == 1)
    #expect(under.stderr.contains("Not a directory") || under.stderr.contains("not a directory"))
    #expect(!under.stderr.contains("another mlpc run"), "\(under.stderr)")
  }

  /// A staging directory as a killed run leaves it: a copy of a run (a different run than the
  /// one committed) under the staging name of a process that no longer runs.
  static func plantStaging(from run: String, as name: String, in dir: String) throws -> String {
    let staging = dir + "/.\(name).staging-999999999"
    try FileManager.default.copyItem(atPath: run, toPath: staging)
    // Further than anything the committed run has.
    let checkpoints = try FileManager.default.contentsOfDirectory(atPath: staging + "/checkpoints")
    try FileManager.default.moveItem(
      atPath: staging + "/checkpoints/" + checkpoints.sorted().last!,
      toPath: staging + "/checkpoints/epoch-000099-step-000000.safetensors")
    return staging
  }

  @Test func anotherRunsStagingIsNeverAdoptedAndIsCleanedUp() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for out in ["a", "b"] {
      let result = try CommandRunner.mlpc([
        "run", dir + "/spec.yaml", "--quiet", "--out", dir + "/" + out,
      ])
      #expect(result.status == 0, "\(result.stderr)")
    }
    // A killed run of `b` left its staging beside `a`: resuming `a` does not take it.
    let planted = try Self.plantStaging(from: dir + "/b", as: "a", in: dir)
    let resumed = try CommandRunner.mlpc([
      "run", "--resume", dir + "/a", "--epochs", "4", "--quiet",
    ])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(EpochReport.lines(ofFile: dir + "/a/metrics.jsonl").map(\.epoch) == [1, 2, 3, 4])
    #expect(!FileManager.default.fileExists(atPath: planted), "the stale staging was kept")
    // A fresh --force run removes a killed run's leftovers too.
    _ = try Self.plantStaging(from: dir + "/b", as: "a", in: dir)
    let forced = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--quiet", "--force", "--out", dir + "/a",
    ])
    #expect(forced.status == 0, "\(forced.stderr)")
    #expect(Self.hidden(dir).isEmpty, "\(Self.hidden(dir))")
    // Its own killed staging is what --resume continues, and a plain run says so.
    let own = try Self.plantStaging(from: dir + "/b", as: "c", in: dir)
    let refused = try CommandRunner.mlpc(["run", dir + "/spec.yaml", "--out", dir + "/c"])
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("--resume"), "\(refused.stderr)")
    #expect(FileManager.default.fileExists(atPath: own))
  }

  @Test func linksPlantedInARunAreRefusedBeforeAnythingIsTouched() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let trained = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--quiet", "--out", dir + "/run",
    ])
    #expect(trained.status == 0, "\(trained.stderr)")
    try "secret: 1\n".write(toFile: dir + "/private.yaml", atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(
      atPath: dir + "/outside", withIntermediateDirectories: false)
    try "{}\n".write(toFile: dir + "/outside/metrics.jsonl", atomically: true, encoding: .utf8)
    for (name, target) in [
      ("spec.yaml", dir + "/private.yaml"), ("metrics.jsonl", dir + "/outside/metrics.jsonl"),
      ("checkpoints", dir + "/outside"),
    ] {
      let copy = dir + "/run-" + name
      try FileManager.default.copyItem(atPath: dir + "/run", toPath: copy)
      if name == "checkpoints" {
        try FileManager.default.copyItem(atPath: copy + "/checkpoints", toPath: dir + "/saved")
        try FileManager.default.removeItem(atPath: copy + "/checkpoints")
        for file in try FileManager.default.contentsOfDirectory(atPath: dir + "/saved") {
          try FileManager.default.moveItem(
            atPath: dir + "/saved/" + file, toPath: dir + "/outside/" + file)
        }
      } else {
        try FileManager.default.removeItem(atPath: copy + "/" + name)
      }
      try FileManager.default.createSymbolicLink(
        atPath: copy + "/" + name, withDestinationPath: target)
      let before = try ResumeValidationTests.contents(copy)
      let outside = try ResumeValidationTests.contents(dir + "/outside")
      let result = try CommandRunner.mlpc([
        "run", "--resume", copy, "--epochs", "5", "--format", "github",
      ])
      #expect(result.status == 1, "\(name): \(result.stderr)")
      #expect(result.stderr.contains("symbolic link"), "\(name): \(result.stderr)")
      #expect(!(result.stdout + result.stderr).contains("secret"))
      #expect(try ResumeValidationTests.contents(copy) == before, "\(name): the run changed")
      #expect(try ResumeValidationTests.contents(dir + "/outside") == outside, "\(name)")
      #expect(Self.hidden(dir).isEmpty, "\(name): \(Self.hidden(dir))")
    }
  }

  @Test func outputsReplaceLinksInsteadOfWritingThroughThem() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let trained = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--quiet", "--out", dir + "/run",
    ])
    #expect(trained.status == 0, "\(trained.stderr)")
    try "keep me\n".write(toFile: dir + "/victim", atomically: true, encoding: .utf8)
    for name in ["model.onnx", "model.onnx.partial"] {
      try FileManager.default.createSymbolicLink(
        atPath: dir + "/run/" + name, withDestinationPath: dir + "/victim")
    }
    let exported = try CommandRunner.mlpc(["export", dir + "/run"])
    #expect(exported.status == 0, "\(exported.stderr)")
    #expect(try String(contentsOfFile: dir + "/victim", encoding: .utf8) == "keep me\n")
    let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/run/model.onnx")
    #expect(attributes[.type] as? FileAttributeType == .typeRegular)
    // predict --out onto a link replaces the link.
    try FileManager.default.createSymbolicLink(
      atPath: dir + "/out.csv", withDestinationPath: dir + "/victim")
    let predicted = try CommandRunner.mlpc([
      "predict", dir + "/run", dir + "/d.csv", "--out", dir + "/out.csv",
    ])
    #expect(predicted.status == 0, "\(predicted.stderr)")
    #expect(try String(contentsOfFile: dir + "/victim", encoding: .utf8) == "keep me\n")
    #expect(try String(contentsOfFile: dir + "/out.csv", encoding: .utf8).hasPrefix("predicted"))
  }

  @Test func noTemporaryOutlivesItsWriter() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let trained = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--quiet", "--out", dir + "/run",
    ])
    #expect(trained.status == 0, "\(trained.stderr)")
    // A failed predict leaves nothing.
    try "a,b\n1,x\n".write(toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
    let failed = try CommandRunner.mlpc([
      "predict", dir + "/run", dir + "/bad.csv", "--out", dir + "/p.csv",
    ])
    #expect(failed.status == 1)
    #expect(Self.hidden(dir).isEmpty, "\(Self.hidden(dir))")
    #expect(!FileManager.default.fileExists(atPath: dir + "/p.csv"))
    // A killed writer's temporary (a PID that no longer runs) goes with the next write there.
    try "half".write(
      toFile: dir + "/.p.csv.partial-999999999-1", atomically: true, encoding: .utf8)
    let written = try CommandRunner.mlpc([
      "predict", dir + "/run", dir + "/d.csv", "--out", dir + "/p.csv",
    ])
    #expect(written.status == 0, "\(written.stderr)")
    #expect(Self.hidden(dir).isEmpty, "\(Self.hidden(dir))")
  }

  /// A write that fails at the end (the file-size limit stands in for a full disk: write(2)
  /// fails the same way, with EFBIG instead of ENOSPC): a clear message, the epochs kept where
  /// --resume finds them, and --resume writes the model training would have written.
  @Test func aFailedSaveKeepsTheRunResumable() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Self.spec.replacingOccurrences(of: "units: 4", with: "units: 256").write(
      toFile: dir + "/big.yaml", atomically: true, encoding: .utf8)
    let whole = try CommandRunner.mlpc(["run", dir + "/big.yaml", "--quiet", "--out", dir + "/a"])
    #expect(whole.status == 0, "\(whole.stderr)")
    let model = try Data(contentsOf: URL(fileURLWithPath: dir + "/a/model.safetensors"))
    let checkpoint =
      try FileManager.default.attributesOfItem(
        atPath: dir + "/a/checkpoints/epoch-000004-step-000000.safetensors")[.size] as? Int ?? 0
    // A limit (in KiB) that the checkpoints fit and the model does not.
    let limit = (checkpoint + 1023) / 1024
    #expect(limit * 1024 < model.count, "the model must be larger than the limit")
    let limited = try CommandRunner.run(
      "/bin/bash",
      [
        "-c", "ulimit -f \(limit); trap '' XFSZ; exec \"$0\" \"$@\"", CommandRunner.mlpc, "run",
        dir + "/big.yaml", "--quiet", "--out", dir + "/b",
      ])
    #expect(limited.status == 1)
    #expect(limited.stderr.contains("File too large"), "\(limited.stderr)")
    #expect(limited.stderr.contains("mlpc run --resume"), "\(limited.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/b/model.safetensors"))
    #expect(Self.hidden(dir).isEmpty, "\(Self.hidden(dir))")
    let resumed = try CommandRunner.mlpc(["run", "--resume", dir + "/b", "--quiet"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/b/model.safetensors")) == model)
    // A run that cannot even write its configuration leaves nothing behind.
    let tiny = try CommandRunner.run(
      "/bin/bash",
      [
        "-c", "ulimit -f 1; trap '' XFSZ; exec \"$0\" \"$@\"", CommandRunner.mlpc, "run",
        dir + "/big.yaml", "--quiet", "--out", dir + "/c",
      ])
    #expect(tiny.status == 1)
    #expect(tiny.stderr.contains("File too large"), "\(tiny.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/c"))
    #expect(Self.hidden(dir).isEmpty, "\(Self.hidden(dir))")
  }
}

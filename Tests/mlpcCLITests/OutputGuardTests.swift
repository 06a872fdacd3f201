// No command's --out replaces one of its inputs or a file of a run it reads, however the path is
// spelled (another relative spelling, a symlink to it); the input is left byte for byte, nothing
// is written, and the exit status is 2 (a usage error). Columns kept twice are refused too.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct OutputGuardTests {
  /// A trained xor run in a fresh folder, with its data as a CSV.
  static func trainedRun() throws -> String {
    let dir = Repository.temporaryDirectory()
    try "a,b,label\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n".write(
      toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    try "a,b,predicted\n0,1,x\n".write(toFile: dir + "/p.csv", atomically: true, encoding: .utf8)
    try """
    task: classification
    input: 2
    layers: [{units: 4, activation: tanh}, {units: 2, activation: softmax}]
    data: {train: d.csv, target: label}
    training: {epochs: 2}
    """.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    let result = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--quiet", "--out", dir + "/run",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    try FileManager.default.createSymbolicLink(
      atPath: dir + "/link.safetensors", withDestinationPath: dir + "/run/model.safetensors")
    return dir
  }

  static func commands(_ d: String) -> [[String]] {
    [
      ["predict", d + "/run", d + "/d.csv", "--out", d + "/run/model.safetensors"],
      ["predict", d + "/run", d + "/d.csv", "--out", d + "/run/../run/metrics.jsonl"],
      ["predict", d + "/run", d + "/d.csv", "--out", d + "/d.csv"],
      ["predict", d + "/run/model.safetensors", d + "/d.csv", "--out", d + "/link.safetensors"],
      ["export", d + "/run", "--out", d + "/run/model.safetensors"],
      ["export", d + "/run", "--out", d + "/run/summary.json"],
      ["curves", d + "/run", "--out", d + "/run/metrics.jsonl"],
      ["curves", d + "/run", "--out", d + "/run/checkpoints/new.svg"],
      ["predict", d + "/run", d + "/d.csv", "--keep", "a", "--keep", "a"],
      ["predict", d + "/run", d + "/p.csv", "--keep", "predicted", "--format", "jsonl"],
    ]
  }

  @Test func outputsNeverReplaceInputs() throws {
    let dir = try Self.trainedRun()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let before = try ResumeValidationTests.contents(dir)
    for arguments in Self.commands(dir) {
      let result = try CommandRunner.mlpc(arguments)
      #expect(result.status == 2, "\(arguments): \(result.stderr)")
      #expect(result.stdout.isEmpty, "\(arguments)")
    }
    #expect(try ResumeValidationTests.contents(dir) == before, "an input changed")
  }

  @Test func aNewFileBesideTheRunIsStillWritten() throws {
    let dir = try Self.trainedRun()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let predict = try CommandRunner.mlpc([
      "predict", dir + "/run", dir + "/d.csv", "--out", dir + "/run/predictions.csv",
    ])
    #expect(predict.status == 0, "\(predict.stderr)")
    let export = try CommandRunner.mlpc(["export", dir + "/run"])
    #expect(export.status == 0, "\(export.stderr)")
    #expect(FileManager.default.fileExists(atPath: dir + "/run/model.onnx"))
  }

  /// Under mpirun, a build without MPI would start N runs racing for one directory: it refuses.
  @Test func aBuildWithoutMPIRefusesToRunAsOneOfSeveralRanks() throws {
    guard !World.isAvailable else { return }  // the MPI build is checked by scripts/mpi_check.sh
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = try CommandRunner.mlpc(
      ["run", "specs/xor.yaml", "--quiet", "--out", dir + "/run"],
      environment: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "1"])
    #expect(result.status == 2 && result.stderr.contains("built without MPI"), "\(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/run"))
    let one = try CommandRunner.mlpc(
      ["run", "specs/xor.yaml", "--quiet", "--out", dir + "/one", "--epochs", "2"],
      environment: ["OMPI_COMM_WORLD_SIZE": "1"])
    #expect(one.status == 0, "\(one.stderr)")
  }
}

/// `--force` replaces runs and sweeps mlpc wrote, never a folder of the user's.
@Test func forceReplacesOnlyWhatMLPCWrote() throws {
  let dir = Repository.temporaryDirectory()
  defer { try? FileManager.default.removeItem(atPath: dir) }
  let thesis = dir + "/thesis"
  try FileManager.default.createDirectory(
    atPath: thesis + "/.git", withIntermediateDirectories: true)
  try "chapter one".write(toFile: thesis + "/chapter.tex", atomically: true, encoding: .utf8)
  for arguments in [
    ["run", "specs/xor.yaml", "--quiet", "--force", "--out", thesis],
    ["sweep", "specs/xor.yaml", "--grid", "training.seed=1,2", "--force", "--out", thesis],
  ] {
    let result = try CommandRunner.mlpc(arguments)
    #expect(result.status == 1 && result.stderr.contains("not a"), "\(arguments): \(result.stderr)")
    #expect(try String(contentsOfFile: thesis + "/chapter.tex", encoding: .utf8) == "chapter one")
    #expect(FileManager.default.fileExists(atPath: thesis + "/.git"))
  }
  // A run, and a sweep, are replaced as before.
  let run = dir + "/run"
  for _ in 0..<2 {
    let result = try CommandRunner.mlpc(
      ["run", "specs/xor.yaml", "--quiet", "--force", "--epochs", "2", "--out", run])
    #expect(result.status == 0, "\(result.stderr)")
  }
  let sweep = dir + "/sweep"
  for _ in 0..<2 {
    let result = try CommandRunner.mlpc([
      "sweep", "specs/xor.yaml", "--grid", "training.seed=1,2", "--epochs", "1", "--force",
      "--out", sweep,
    ])
    #expect(result.status == 0, "\(result.stderr)")
  }
}

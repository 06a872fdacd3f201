// `--resume` checks the checkpoint against the spec's network before it touches the run: a
// state of another size, a value that is not finite, an epoch or step out of range is a clear
// error (exit 1), never a crash, and the run directory is left byte for byte as it was.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct ResumeValidationTests {
  static let spec = """
    task: classification
    input: 2
    layers: [{units: 4, activation: tanh}, {units: 2, activation: softmax}]
    data: {generator: xor, samples: 40}
    training: {epochs: 3, batch_size: 8, optimizer: adam, seed: 1}
    """

  /// Every file of a directory tree and its bytes.
  static func contents(_ dir: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    let files = FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? []
    for name in files {
      var isDirectory: ObjCBool = false
      _ = FileManager.default.fileExists(atPath: dir + "/" + name, isDirectory: &isDirectory)
      if !isDirectory.boolValue {
        out[name] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
      }
    }
    return out
  }

  static let tamperings: [(String, @Sendable (inout Checkpoint) -> Void)] = [
    ("a state of another size", { $0.state = .init(values: $0.state.values.dropLast(), step: 3) }),
    (
      "a state that is not finite",
      { c in
        var values = c.state.values
        values[3] = .nan
        c.state = .init(values: values, step: c.state.step)
      }
    ),
    ("epoch 0", { $0.epoch = 0 }),
    ("a step count near Int.max", { $0.steps = 1 << 62 }),
    ("an optimizer step out of range", { $0.state = .init(values: $0.state.values, step: -5) }),
  ]

  @Test(arguments: tamperings.indices)
  func aTamperedCheckpointIsRefusedAndTheRunUntouched(_ index: Int) throws {
    let (name, tamper) = Self.tamperings[index]
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Self.spec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    let run = dir + "/run"
    let first = try CommandRunner.mlpc(["run", dir + "/spec.yaml", "--quiet", "--out", run])
    #expect(first.status == 0, "\(first.stderr)")
    let folder = run + "/checkpoints"
    let file = try #require(
      try FileManager.default.contentsOfDirectory(atPath: folder).sorted().last)
    let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file))
    var checkpoint = try #require(Checkpoint.decode(data))
    tamper(&checkpoint)
    try checkpoint.encode().write(to: URL(fileURLWithPath: folder + "/" + file))
    let before = try Self.contents(run)
    let resumed = try CommandRunner.mlpc(["run", "--resume", run, "--epochs", "6"])
    #expect(resumed.status == 1, "\(name): \(resumed.stderr)")
    #expect(resumed.stderr.contains("checkpoint"), "\(name): \(resumed.stderr)")
    #expect(try Self.contents(run) == before, "\(name): the run directory changed")
    let siblings = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    #expect(siblings == ["run", "spec.yaml"], "\(name): left \(siblings)")
  }
}

// Diagnostics where users look first: names other tools use get mlpc's name (and where a key
// belongs), an unknown command gets the nearest one, a file with none of a model's columns gets
// one message, a repeated fix is said once and counts of findings not shown come after them,
// and an unnamed (index) column is pointed out.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct HintTests {
  @Test func namesFromOtherToolsGetMlpcsName() throws {
    let result = checkSpec(
      """
      task: binary
      layers:
        - {units: 4, activation: swish}
        - {units: 2, activation: selu}
      loss: categorical_crossentropy
      data: {generator: blobs, classes: 2, dimensions: 2, samples: 20, batch_size: 4}
      training: {lr: 0.1}
      """)
    let help = Dictionary(
      result.diagnostics.map { ($0.message, $0.help ?? "") }, uniquingKeysWith: { a, _ in a })
    #expect(help["unknown task 'binary' for 'task'"]?.contains("'classification'") == true)
    #expect(
      help["unknown activation 'swish' for 'layers[0].activation'"]
        == "mlpc has no 'swish' activation (other tools do); the nearest here is 'elu'")
    #expect(
      help["unknown activation 'selu' for 'layers[1].activation'"]
        == "mlpc has no 'selu' activation (other tools do); the nearest here is 'elu'")
    #expect(
      help["unknown loss 'categorical_crossentropy' for 'loss'"]
        == "'categorical_crossentropy' is Keras's name; mlpc calls it 'cross_entropy'")
    #expect(help["unknown key 'data.batch_size'"] == "'batch_size' belongs under 'training'")
    #expect(
      help["unknown key 'training.lr'"]
        == "'lr' is PyTorch's name; mlpc calls it 'training.learning_rate'")
  }

  @Test func anUnknownCommandNamesTheNearest() throws {
    let train = try CommandRunner.mlpc(["train", "specs/iris.yaml"])
    #expect(train.status == 2)
    #expect(train.stderr.contains("'train' is not an mlpc command; 'mlpc run' is the command"))
    let typo = try CommandRunner.mlpc(["chek", "specs/iris.yaml"])
    #expect(typo.status == 2 && typo.stderr.contains("did you mean 'mlpc check'?"))
    #expect(try CommandRunner.mlpc(["--version"]).status == 0)
  }

  @Test func aFileWithNoneOfTheColumnsGetsOneMessage() throws {
    let dir = try ModelKind.all[0].trainedRun()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var header = (0..<64).map { "p\($0)" }.joined(separator: ",")
    header += "\n" + (0..<64).map { _ in "1" }.joined(separator: ",") + "\n"
    try header.write(toFile: dir + "/wide.csv", atomically: true, encoding: .utf8)
    let result = try CommandRunner.mlpc(["predict", dir + "/run", dir + "/wide.csv"])
    #expect(result.status == 1)
    #expect(result.stderr.components(separatedBy: "error[E012]").count == 2, "\(result.stderr)")
    #expect(result.stderr.contains("none of the"))
  }

  @Test func aRepeatedFixIsSaidOnceAndCountsComeLast() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var csv = "a,b,label\n"
    for i in 0..<20 { csv += "\(i),\(i % 3),\(i % 2 == 0 ? 0 : 7)\n" }
    try csv.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    let result = Checker.check(
      text: """
        task: classification
        input: 2
        layers: [{units: 2, activation: softmax}]
        data: {train: d.csv, target: label}
        """, file: dir + "/s.yaml")
    let labels = result.diagnostics.filter { $0.code == .labelOutOfRange }
    #expect(labels.count == 6)
    #expect(labels.filter { $0.help != nil }.count == 1 && labels.first?.help != nil)
    #expect(labels.last?.message == "5 more class labels out of range not shown")
    #expect(result.diagnostics.last?.countsOthers == true)
  }

  @Test func anUnnamedColumnIsPointedOut() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var csv = ",a,label\n"
    for i in 0..<10 { csv += "\(i),\(i % 4),\(i % 2)\n" }
    try csv.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    let result = Checker.check(
      text: """
        task: classification
        layers: [{units: 2, activation: softmax}]
        data: {train: d.csv, target: label}
        """, file: dir + "/s.yaml")
    #expect(
      result.diagnostics.contains {
        $0.code == .dataWarning && $0.message.contains("column 1 of")
          && $0.message.contains("no name")
      }, "\(result.diagnostics)")
  }
}

@Test func everySynonymIsDocumented() throws {
  let docs = try String(
    contentsOfFile: Repository.path("docs/diagnostics.md"), encoding: .utf8)
  for (name, s) in Synonyms.keys {
    #expect(docs.contains("| `\(name)` (key) | `\(s.ours)` |"), "\(name)")
  }
  for (name, s) in Synonyms.values {
    #expect(docs.contains("| `\(name)` | `\(s.ours)` |"), "\(name)")
  }
  for name in Synonyms.tasks.keys { #expect(docs.contains("| `task: \(name)` |"), "\(name)") }
  for (name, near) in Synonyms.missingActivations {
    #expect(docs.contains("`\(name)` → `\(near)`"), "\(name)")
  }
}

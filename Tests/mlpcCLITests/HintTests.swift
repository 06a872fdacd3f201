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
        - {units: 4, activation: gelu_new}
        - {units: 4, activation: mish}
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
        == "'swish' is Keras's name; mlpc calls it 'silu'")
    #expect(
      help["unknown activation 'gelu_new' for 'layers[1].activation'"]
        == "'gelu_new' is Hugging Face Transformers's name; mlpc calls it 'gelu_tanh'")
    #expect(
      help["unknown activation 'mish' for 'layers[2].activation'"]
        == "mlpc has no 'mish' activation (other tools do); the nearest here is 'silu'")
    #expect(
      help["unknown activation 'selu' for 'layers[3].activation'"]
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

@Suite struct PredictOutputTests {
  @Test func jsonLinesHoldNumbersAndAThresholdMovesTheDecision() throws {
    let sigmoid = try #require(ModelKind.all.first { $0.output == "sigmoid" })
    let dir = try sigmoid.trainedRun()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let data = dir + "/binary.csv"
    let lines = try CommandRunner.mlpc([
      "predict", dir + "/run", data, "--probabilities", "--format", "jsonl",
    ])
    #expect(lines.status == 0, "\(lines.stderr)")
    for line in lines.stdout.split(separator: "\n") {
      let record = try #require(
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      #expect(record["predicted"] is String)
      for (key, value) in record where key.hasPrefix("p_") {
        #expect(value is NSNumber && !(value is String), "\(record)")
      }
    }
    // The second class's probabilities (the last CSV column).
    let csv = try CommandRunner.mlpc(["predict", dir + "/run", data, "--probabilities"])
    let probabilities = csv.stdout.split(separator: "\n").dropFirst().compactMap {
      $0.split(separator: ",").last.flatMap { Double($0) }
    }
    #expect(!probabilities.isEmpty)
    // A threshold above every probability predicts the first class for every row.
    let high = try #require(probabilities.max()) + 1e-5  // above it in single precision too
    func predicted(_ extra: [String]) throws -> [String] {
      let r = try CommandRunner.mlpc(["predict", dir + "/run", data] + extra)
      #expect(r.status == 0, "\(r.stderr)")
      return r.stdout.split(separator: "\n").dropFirst().map(String.init)
    }
    let classes = Set(try predicted([]))
    #expect(classes.count == 2)
    let strict = try predicted(["--threshold", "\(min(0.999, high))"])
    #expect(Set(strict).count == 1 || high >= 0.999)
    let loose = try predicted(["--threshold", "0.0001"])
    #expect(loose.count == strict.count && Set(loose) != Set(strict) || high >= 0.999)
    // Not for softmax models, and only probabilities.
    let softmax = try #require(ModelKind.all.first { $0.output == "softmax" })
    let other = try softmax.trainedRun()
    defer { try? FileManager.default.removeItem(atPath: other) }
    let refused = try CommandRunner.mlpc([
      "predict", other + "/run", other + "/data.csv", "--threshold", "0.3",
    ])
    #expect(refused.status == 1 && refused.stderr.contains("one sigmoid unit"))
    let bad = try CommandRunner.mlpc(["predict", dir + "/run", data, "--threshold", "1.5"])
    #expect(bad.status == 1 && bad.stderr.contains("between 0 and 1"))
  }
}

@Test func multiClassROCAUCEqualsScikitLearns() throws {
  guard let python = CommandRunner.pythonWith(["sklearn", "numpy"]) else { return }
  let dir = Repository.temporaryDirectory()
  defer { try? FileManager.default.removeItem(atPath: dir) }
  let run = try CommandRunner.mlpc([
    "run", "specs/iris.yaml", "--epochs", "5", "--quiet", "--out", dir + "/r",
  ])
  #expect(run.status == 0, "\(run.stderr)")
  let data = Repository.path("specs/data/iris-test.csv")
  let predicted = try CommandRunner.mlpc([
    "predict", dir + "/r", data, "--probabilities", "--keep", "species", "--out", dir + "/p.csv",
  ])
  #expect(predicted.status == 0, "\(predicted.stderr)")
  let evaluated = try CommandRunner.mlpc(["evaluate", dir + "/r", data, "--format", "json"])
  let report = try #require(
    try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any])
  let ours = try #require(report["roc_auc"] as? Double)
  let perClass = try #require(report["roc_auc_per_class"] as? [Double])
  #expect(perClass.count == 3)
  let script = """
    import csv, sys
    from sklearn.metrics import roc_auc_score
    rows = list(csv.DictReader(open(sys.argv[1])))
    classes = [k[2:] for k in rows[0] if k.startswith("p_")]
    y = [classes.index(r["species"]) for r in rows]
    p = [[float(r["p_" + c]) for c in classes] for r in rows]
    print(repr(roc_auc_score(y, p, multi_class="ovr")))
    for c in range(len(classes)):
        print(repr(roc_auc_score([int(v == c) for v in y], [q[c] for q in p])))
    """
  let oracle = try CommandRunner.run(python, ["-c", script, dir + "/p.csv"])
  #expect(oracle.status == 0, "\(oracle.stderr)")
  let values = oracle.stdout.split(separator: "\n").compactMap { Double($0) }
  #expect(values.count == 4)
  #expect(abs(ours - values[0]) < 1e-9, "\(ours) vs \(values)")
  for (a, b) in zip(perClass, values.dropFirst()) { #expect(abs(a - b) < 1e-9) }
}

/// The PyTorch loading recipe of docs/run-output.md (scripts/torch_loader.py) equals mlpc predict
/// on a standardised model, on a raw-table model with embedding tables, with PyTorch's own
/// gelu, tanh-approximated gelu and silu modules in place of mlpc's kernels, and on ensembles.
@Test(arguments: [
  "iris", "mpg", "iris:gelu", "iris:gelu_tanh", "mpg:silu", "iris:front", "iris:ensemble",
  "mpg:ensemble",
])
func theTorchRecipeEqualsPredict(_ argument: String) throws {
  let name = String(argument.prefix { $0 != ":" })
  let activation = argument.split(separator: ":").dropFirst().first.map {
    switch $0 {
    case "front": ["--set", "front_scale=true"]
    case "ensemble": ["--set", "ensemble=4"]
    default: ["--set", "layers[0].activation=\($0)"]
    }
  }
  let docs = try String(
    contentsOfFile: Repository.path("docs/run-output.md"), encoding: .utf8)
  let recipe = try String(
    contentsOfFile: Repository.path("scripts/torch_loader.py"), encoding: .utf8)
  #expect(docs.contains("```python\n" + recipe + "```"))
  guard let python = CommandRunner.pythonWith(["torch", "numpy", "safetensors"]) else { return }
  let dir = Repository.temporaryDirectory()
  defer { try? FileManager.default.removeItem(atPath: dir) }
  let run = try CommandRunner.mlpc(
    [
      "run", "specs/\(name).yaml", "--epochs", "5", "--quiet", "--out", dir + "/r",
    ] + (activation ?? []))
  #expect(run.status == 0, "\(run.stderr)")
  let test = Repository.path("specs/data/\(name)-test.csv")
  let data =
    FileManager.default.fileExists(atPath: test) ? test : Repository.path("specs/data/\(name).csv")
  let ours = try CommandRunner.mlpc(["predict", dir + "/r", data, "--probabilities"])
  let theirs = try CommandRunner.run(
    python, [Repository.path("scripts/torch_loader.py"), dir + "/r", data])
  #expect(ours.status == 0 && theirs.status == 0, "\(ours.stderr)\(theirs.stderr)")
  let a = ours.stdout.split(separator: "\n").dropFirst().map {
    $0.split(separator: ",").compactMap { Double($0) }
  }
  let b = theirs.stdout.split(separator: "\n").map {
    $0.split(separator: ",").compactMap { Double($0) }
  }
  #expect(a.count == b.count && a.count > 10)
  for (x, y) in zip(a, b) {
    #expect(x.count == y.count)
    for (u, v) in zip(x, y) { #expect(abs(u - v) <= 1e-4 * max(1, abs(v)), "\(x) vs \(y)") }
  }
}

// `mlpc predict` and `mlpc evaluate` against independent oracles: the numpy reader that
// docs/run-output.md shows (scripts/mlpc_reader.py, reading the model file alone) for every
// activation and output kind, and scikit-learn's metrics for `evaluate`.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

/// A model kind: hidden activation (with its parameter) and output.
struct ModelKind: CustomTestStringConvertible, Sendable {
  var hidden: String
  var output: String
  var testDescription: String { "\(hidden) → \(output)" }

  static let all: [ModelKind] =
    [
      "identity", "sigmoid", "tanh", "relu", "leaky_relu, negative_slope: 0.3", "elu, alpha: 0.7",
      "softplus", "gelu", "gelu_tanh", "silu",
    ]
    .map { ModelKind(hidden: $0, output: "softmax") }
    + [ModelKind(hidden: "tanh", output: "sigmoid"), ModelKind(hidden: "relu", output: "identity")]

  /// A spec over `data.csv` (columns "income, USD", "größe", x2, label, y1, y2).
  var spec: String {
    let (task, units, target, loss) =
      switch output {
      case "softmax": ("classification", 3, "label", "cross_entropy")
      case "sigmoid": ("classification", 1, "label", "binary_cross_entropy")
      default: ("regression", 2, "[y1, y2]", "mse")
      }
    let labels = output == "sigmoid" ? "binary" : "label"
    return """
      task: \(task)
      input: 3
      layers:
        - {name: "hidden-1", units: 6, activation: \(hidden)}
        - {name: out, units: \(units), activation: \(output)}
      loss: \(loss)
      data:
        train: \(output == "sigmoid" ? "binary.csv" : "data.csv")
        target: \(target == "label" ? labels : target)
        features: ["income, USD", "größe", x2]
        standardize: true
      training: {epochs: 5, batch_size: 8, learning_rate: 0.05, seed: 3}
      """
  }
}

extension ModelKind {
  /// A temporary directory with the data files and this kind's model trained into `run`.
  func trainedRun() throws -> String {
    let dir = Repository.temporaryDirectory()
    try writeData(dir)
    try spec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    let run = try CommandRunner.mlpc(["run", dir + "/spec.yaml", "--quiet", "--out", dir + "/run"])
    try #require(run.status == 0, "\(run.stderr)")
    return dir
  }
}

/// Rows with awkward names: a comma and a quote in a class, non-ASCII letters in a column.
func writeData(_ dir: String) throws {
  var rows = ["\"income, USD\",größe,x2,label,binary,y1,y2"]
  let classes = ["\"yes, approved\"", "no", "\"say \"\"maybe\"\"\""]
  for i in 0..<40 {
    let (a, b, c) = (Double(i % 7) * 0.5 - 1, Double(i % 5) * 0.3, Double((i * 3) % 11) / 4)
    rows.append(
      "\(a * 1000),\(b),\(c),\(classes[i % 3]),\(i % 2 == 0 ? "yes" : "no"),\(a + b),\(b - c)")
  }
  let text = rows.joined(separator: "\n") + "\n"
  try text.write(toFile: dir + "/data.csv", atomically: true, encoding: .utf8)
  try text.write(toFile: dir + "/binary.csv", atomically: true, encoding: .utf8)
}

/// Parses CSV output of `predict` or the reader into rows of cells (quoted fields allowed).
func csvRows(_ text: String) -> [[String]] {
  var rows: [[String]] = []
  var row: [String] = []
  var cell = ""
  var quoted = false
  var chars = Array(text)[...]
  while let c = chars.popFirst() {
    if quoted {
      if c == "\"" {
        if chars.first == "\"" { cell.append(chars.removeFirst()) } else { quoted = false }
      } else {
        cell.append(c)
      }
    } else if c == "\"" {
      quoted = true
    } else if c == "," {
      row.append(cell)
      cell = ""
    } else if c == "\n" {
      rows.append(row + [cell])
      (row, cell) = ([], "")
    } else {
      cell.append(c)
    }
  }
  return rows
}

@Suite struct PredictCommandTests {
  @Test(arguments: ModelKind.all)
  func predictEqualsTheDocumentedNumpyReader(_ kind: ModelKind) throws {
    guard let python = CommandRunner.pythonWith(["numpy", "safetensors"]) else { return }
    let dir = try kind.trainedRun()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let predicted = try CommandRunner.mlpc([
      "predict", dir + "/run", dir + "/data.csv", "--probabilities",
    ])
    #expect(predicted.status == 0, "\(predicted.stderr)")
    let reader = try CommandRunner.run(
      python, [Repository.path("scripts/mlpc_reader.py"), dir + "/run", dir + "/data.csv"])
    #expect(reader.status == 0, "\(reader.stderr)")
    let (ours, theirs) = (csvRows(predicted.stdout), csvRows(reader.stdout))
    #expect(ours.count == 41 && ours.first == theirs.first)
    for (a, b) in zip(ours.dropFirst(), theirs.dropFirst()) {
      let numeric = kind.output == "identity" ? a.indices : a.indices.dropFirst()
      if kind.output != "identity" { #expect(a[0] == b[0]) }
      for i in numeric {
        let (x, y) = (Double(a[i]) ?? .nan, Double(b[i]) ?? .nan)
        #expect(abs(x - y) <= 1e-4 * max(1, abs(y)), "\(a) vs \(b)")
      }
    }
  }
}

@Suite struct EvaluateCommandTests {
  /// Every number scikit-learn computes (scripts/evaluate_oracle.py) equals `mlpc evaluate`'s.
  @Test(arguments: [ModelKind.all[3], ModelKind.all[7], ModelKind.all[8]])
  func evaluateEqualsScikitLearn(_ kind: ModelKind) throws {
    guard let python = CommandRunner.pythonWith(["numpy", "pandas", "sklearn"]) else { return }
    let dir = try kind.trainedRun()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let data = dir + (kind.output == "sigmoid" ? "/binary.csv" : "/data.csv")
    let predict = try CommandRunner.mlpc([
      "predict", dir + "/run", data, "--probabilities", "--out", dir + "/predictions.csv",
    ])
    #expect(predict.status == 0, "\(predict.stderr)")
    let evaluate = try CommandRunner.mlpc(["evaluate", dir + "/run", data, "--format", "json"])
    #expect(evaluate.status == 0, "\(evaluate.stderr)")
    let (task, targets) =
      switch kind.output {
      case "softmax": ("classification", ["label"])
      case "sigmoid": ("classification", ["binary"])
      default: ("regression", ["y1", "y2"])
      }
    let oracle = try CommandRunner.run(
      python,
      [Repository.path("scripts/evaluate_oracle.py"), task, dir + "/predictions.csv", data]
        + targets)
    #expect(oracle.status == 0, "\(oracle.stderr)")
    let ours = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8))
    let theirs = try JSONSerialization.jsonObject(with: Data(oracle.stdout.utf8))
    expectContains(ours, theirs, path: kind.testDescription)
  }

  /// Every value in `expected` is in `actual` at the same place (numbers to 1e-5).
  func expectContains(_ actual: Any, _ expected: Any, path: String) {
    switch expected {
    case let e as [String: Any]:
      for (key, value) in e {
        let a = (actual as? [String: Any])?[key]
        #expect(a != nil, "\(path).\(key) missing")
        if let a { expectContains(a, value, path: "\(path).\(key)") }
      }
    case let e as [Any]:
      let a = actual as? [Any] ?? []
      #expect(a.count == e.count, "\(path): \(a.count) vs \(e.count) items")
      for (i, (x, y)) in zip(a, e).enumerated() { expectContains(x, y, path: "\(path)[\(i)]") }
    case let e as NSNumber:
      let a = (actual as? NSNumber)?.doubleValue ?? .nan
      #expect(abs(a - e.doubleValue) <= 1e-5 * max(1, abs(e.doubleValue)), "\(path): \(a) vs \(e)")
    default:
      Issue.record("\(path): unexpected \(expected)")
    }
  }
}

@Test func docsShowTheNumpyReader() throws {
  let docs = try String(contentsOfFile: Repository.path("docs/run-output.md"), encoding: .utf8)
  let reader = try String(
    contentsOfFile: Repository.path("scripts/mlpc_reader.py"), encoding: .utf8)
  #expect(docs.contains("```python\n" + reader + "```"))
}

/// On every shipped spec with data files, `mlpc predict` equals the documented numpy reader on
/// the spec's test file (penguins: its raw table, categories and missing cells included; mpg:
/// embedding tables).
@Test(arguments: ["iris", "digits", "diabetes", "penguins", "cars", "mpg"])
func predictEqualsTheReaderOnShippedSpecs(_ name: String) throws {
  guard let python = CommandRunner.pythonWith(["numpy", "safetensors"]) else { return }
  let dir = Repository.temporaryDirectory()
  defer { try? FileManager.default.removeItem(atPath: dir) }
  let run = try CommandRunner.mlpc([
    "run", "specs/\(name).yaml", "--quiet", "--epochs", "3", "--out", dir + "/run",
  ])
  try #require(run.status == 0, "\(run.stderr)")
  let test = Repository.path("specs/data/\(name)-test.csv")
  let data =
    FileManager.default.fileExists(atPath: test) ? test : Repository.path("specs/data/\(name).csv")
  let ours = try CommandRunner.mlpc(["predict", dir + "/run", data, "--probabilities"])
  let theirs = try CommandRunner.run(
    python, [Repository.path("scripts/mlpc_reader.py"), dir + "/run", data])
  #expect(ours.status == 0 && theirs.status == 0, "\(ours.stderr) \(theirs.stderr)")
  let (a, b) = (csvRows(ours.stdout), csvRows(theirs.stdout))
  #expect(a.count > 1 && a.count == b.count && a.first == b.first)
  for (x, y) in zip(a.dropFirst(), b.dropFirst()) {
    let regression = ["diabetes", "cars", "mpg"].contains(name)
    let numeric = regression ? x.indices : x.indices.dropFirst()
    if !regression { #expect(x[0] == y[0]) }
    for i in numeric {
      #expect(
        abs((Double(x[i]) ?? .nan) - (Double(y[i]) ?? .nan)) <= 1e-4
          * max(1, abs(Double(y[i]) ?? 0)))
    }
  }
}

/// `--out` onto an existing file replaces it whole (twice in a row, with different contents)
/// and leaves no partial file behind.
@Test func predictReplacesAnExistingOutputFile() throws {
  let dir = try ModelKind.all[0].trainedRun()
  defer { try? FileManager.default.removeItem(atPath: dir) }
  let out = dir + "/predictions.csv"
  try "old contents that are longer than the predictions header\n".write(
    toFile: out, atomically: true, encoding: .utf8)
  for extra in [[], ["--probabilities"]] {
    let arguments = ["predict", dir + "/run", dir + "/data.csv"] + extra
    let predict = try CommandRunner.mlpc(arguments + ["--out", out])
    #expect(predict.status == 0, "\(predict.stderr)")
    let expected = try CommandRunner.mlpc(arguments).stdout
    #expect(try String(contentsOfFile: out, encoding: .utf8) == expected && !expected.isEmpty)
  }
  let left = try FileManager.default.contentsOfDirectory(atPath: dir)
  #expect(!left.contains { $0.contains(".partial-") }, "\(left)")
}

/// A row's prediction does not depend on the file around it: each of a few rows predicted from
/// a file of its own gives the same text (probabilities included) as in the whole file, on the
/// shipped specs (digits' 64 inputs took another path through the product for one row) and on
/// an ensemble with every tabular piece.
@Test(arguments: ["digits", "penguins", "cars", "mpg", "ensemble"])
func aRowsPredictionDoesNotDependOnTheRowsAroundIt(_ name: String) throws {
  let dir = Repository.temporaryDirectory()
  defer { try? FileManager.default.removeItem(atPath: dir) }
  let (run, data): (String, String)
  if name == "ensemble" {
    _ = try RawTableTests.trainMixedTable(dir, spec: EnsembleCommandTests.spec)
    (run, data) = (dir + "/run", dir + "/d.csv")
  } else {
    let trained = try CommandRunner.mlpc([
      "run", "specs/\(name).yaml", "--quiet", "--epochs", "3", "--out", dir + "/run",
    ])
    try #require(trained.status == 0, "\(trained.stderr)")
    let test = Repository.path("specs/data/\(name)-test.csv")
    run = dir + "/run"
    data =
      FileManager.default.fileExists(atPath: test)
      ? test : Repository.path("specs/data/\(name).csv")
  }
  let whole = try CommandRunner.mlpc([
    "predict", run, data, "--probabilities", "--format", "jsonl",
  ])
  try #require(whole.status == 0, "\(whole.stderr)")
  let predicted = whole.stdout.split(separator: "\n")
  let lines = try String(contentsOfFile: data, encoding: .utf8).split(separator: "\n")
  try #require(lines.count > 8 && predicted.count == lines.count - 1)
  for row in [1, 2, 5, lines.count - 1] {
    let alone = dir + "/row.csv"
    try (lines[0] + "\n" + lines[row] + "\n").write(
      toFile: alone, atomically: true, encoding: .utf8)
    let one = try CommandRunner.mlpc([
      "predict", run, alone, "--probabilities", "--format", "jsonl",
    ])
    #expect(
      one.stdout.split(separator: "\n") == [predicted[row - 1]],
      "\(name) row \(row): \(one.stdout) \(one.stderr) against \(predicted[row - 1])")
  }
}

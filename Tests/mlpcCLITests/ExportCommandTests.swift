// `mlpc export --format onnx`: for every activation and every kind of output (softmax classes,
// one sigmoid unit for two classes, regression), onnx.checker accepts the exported model and ONNX
// Runtime's outputs on the test CSV equal `mlpc predict`'s within 1e-5 (scripts/check_onnx.py).

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

struct ExportCase: CustomTestStringConvertible, Sendable {
  var name: String
  var spec: String
  var testCSV: String
  var testDescription: String { name }

  static let all: [ExportCase] = [
    ExportCase(
      name: "softmax-tanh-leaky-dropout-standardized",
      spec: """
        task: classification
        input: 4
        layers:
          - {units: 6, activation: tanh, dropout: 0.2}
          - {units: 5, activation: leaky_relu, negative_slope: 0.2}
          - {units: 3, activation: softmax}
        data: {train: data/iris-train.csv, test: data/iris-test.csv, target: species, standardize: true}
        training: {epochs: 20, optimizer: adam, learning_rate: 0.01}
        """, testCSV: "specs/data/iris-test.csv"),
    ExportCase(
      name: "sigmoid-binary-elu-softplus",
      spec: """
        task: classification
        loss: binary_cross_entropy
        input: 4
        layers:
          - {units: 4, activation: elu, alpha: 0.7}
          - {units: 4, activation: softplus}
          - {units: 1, activation: sigmoid}
        data: {train: BINARY, target: species}
        training: {epochs: 20, learning_rate: 0.05}
        """, testCSV: "BINARY"),
    ExportCase(
      name: "regression-relu-identity-sigmoid",
      spec: """
        task: regression
        input: 10
        layers:
          - {units: 8, activation: relu}
          - {units: 6, activation: identity}
          - {units: 4, activation: sigmoid}
          - {units: 1, activation: identity}
        data: {train: data/diabetes-train.csv, test: data/diabetes-test.csv, target: progression, standardize: true}
        training: {epochs: 10, optimizer: adam, learning_rate: 0.01}
        """, testCSV: "specs/data/diabetes-test.csv"),
    ExportCase(
      name: "regression-gelu-gelu_tanh-silu-dropout",
      spec: """
        task: regression
        input: 10
        layers:
          - {units: 16, activation: gelu, dropout: 0.1}
          - {units: 12, activation: gelu_tanh}
          - {units: 8, activation: silu}
          - {units: 1, activation: identity}
        data: {train: data/diabetes-train.csv, test: data/diabetes-test.csv, target: progression, standardize: true}
        training: {epochs: 10, optimizer: adam, learning_rate: 0.01}
        """, testCSV: "specs/data/diabetes-test.csv"),
  ]
}

@Suite struct ExportCommandTests {
  /// Two of iris's species, for one sigmoid unit.
  static func binaryCSV(_ dir: String) throws -> String {
    let text = try String(
      contentsOfFile: Repository.path("specs/data/iris-train.csv"), encoding: .utf8)
    let lines = text.split(separator: "\n")
    let kept = [lines[0]] + lines.dropFirst().filter { !$0.hasSuffix(",setosa") }
    let path = dir + "/binary.csv"
    try (kept.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  @Test func everyActivationIsExported() {
    let used = Set(
      ExportCase.all.flatMap { c in
        c.spec.split(separator: "activation: ").dropFirst().map {
          String($0.prefix { $0.isLetter || $0 == "_" })
        }
      })
    #expect(used == Set(Activation.allCases.map(\.rawValue)))
  }

  @Test(arguments: ExportCase.all)
  func onnxRuntimeAgreesWithPredict(_ c: ExportCase) throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let binary = try Self.binaryCSV(dir)
    let specPath = dir + "/\(c.name).yaml"
    try c.spec.replacingOccurrences(of: "BINARY", with: binary)
      .replacingOccurrences(of: "data/", with: Repository.path("specs/data") + "/")
      .write(toFile: specPath, atomically: true, encoding: .utf8)
    let run = dir + "/run"
    let trained = try CommandRunner.mlpc(["run", specPath, "--quiet", "--out", run])
    #expect(trained.status == 0, "\(trained.stderr)")
    let exported = try CommandRunner.mlpc(["export", run])
    #expect(exported.status == 0, "\(exported.stderr)")
    #expect(FileManager.default.fileExists(atPath: run + "/model.onnx"))
    let data = c.testCSV == "BINARY" ? binary : Repository.path(c.testCSV)
    let predicted = try CommandRunner.mlpc([
      "predict", run, data, "--probabilities", "--out", dir + "/predictions.csv",
    ])
    #expect(predicted.status == 0, "\(predicted.stderr)")
    guard let python = CommandRunner.pythonWith(["onnx", "onnxruntime", "numpy"]) else { return }
    let check = try CommandRunner.run(
      python,
      [
        Repository.path("scripts/check_onnx.py"), run + "/model.onnx", data,
        dir + "/predictions.csv",
      ])
    #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    #expect(check.stdout.contains("onnx.checker ok"))
  }

  @Test func exportRefusesWhatIsNotAModel() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = try CommandRunner.mlpc(["export", dir])
    #expect(result.status == 1)
    #expect(result.stderr.contains("does not exist"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/model.onnx"))
  }
}

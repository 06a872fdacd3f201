// Regression targets are learned scaled and reported in their own units: the scaling is fitted
// on the training split only, the checker's metrics, `mlpc evaluate` and `mlpc predict` are in
// the target's units (compared with values computed here from the predictions), `log` inverts
// exactly, and `none` leaves the targets as they are.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct TargetScaleTests {
  static func folder() throws -> String {
    let dir = Repository.temporaryDirectory()
    var train = "x,y\n"
    for i in 0..<100 { train += "\(Double(i) / 10),\(1000 + 50 * Double(i) / 10)\n" }
    try train.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    // A test row far outside the training targets: it must not move the scaling.
    try "x,y\n2,1100\n5,1250\n100,99999\n".write(
      toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
    return dir
  }

  static func spec(_ scale: String) -> String {
    """
    task: regression
    layers: [{units: 1, activation: identity}]
    data: {train: d.csv, test: t.csv, target: y, target_scale: \(scale), standardize: true}
    training: {epochs: 300, learning_rate: 0.1}
    """
  }

  @Test func fittedOnTrainingAndReportedInTheTargetsUnits() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = Checker.check(text: Self.spec("standard"), file: dir + "/s.yaml")
    let spec = try #require(result.spec, "\(result.diagnostics)")
    let scaler = try #require(spec.data.targetScaler)
    let ys = (0..<100).map { 1000 + 50 * Double($0) / 10 }
    let mean = ys.reduce(0, +) / 100
    let std = (ys.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 100).squareRoot()
    #expect(abs(scaler.center[0] - mean) < 1e-9 && abs(scaler.scale[0] - std) < 1e-9)
    let trainer = Trainer(spec)
    for epoch in 1...300 { _ = try trainer.runEpoch(epoch) }
    // The test metrics, from the predictions in the target's units, computed here.
    let test = try #require(spec.data.test)
    let out = Predictor(
      try Model.decode(Model.encode(spec, trainer.executor), file: "m.safetensors"))
    var squared = 0.0
    for (r, (x, y)) in [(2.0, 1100.0), (5, 1250), (100, 99999)].enumerated() {
      let predicted = Double(out.targetValues(out.run([Float(x)], rows: 1))[0])
      #expect(r == 2 || abs(predicted - y) < 1, "\(x) → \(predicted)")
      squared += (predicted - y) * (predicted - y)
    }
    let reported = try #require(trainer.evaluate(test).mse)
    #expect(abs(reported - squared / 3) <= 1e-3 * squared / 3, "\(reported) vs \(squared / 3)")
    #expect(test.targets[0] == Float((1100 - mean) / std))
  }

  @Test func logAndNoneScaling() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let log = try #require(Checker.check(text: Self.spec("log"), file: dir + "/s.yaml").spec)
    #expect(log.data.train.targets[0] == Float(Foundation.log1p(1000.0)))
    let t = try #require(log.data.targetScaler)
    #expect(abs(t.inverse(t.forward(1234.5, 0), 0) - 1234.5) < 1e-9)
    let none = try #require(Checker.check(text: Self.spec("none"), file: dir + "/s.yaml").spec)
    #expect(none.data.targetScaler == nil && none.data.train.targets[0] == 1000)
    // Negative targets cannot be log-scaled: a located error.
    try "x,y\n1,-5\n2,3\n".write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    let negative = Checker.check(text: Self.spec("log"), file: dir + "/s.yaml")
    #expect(
      negative.diagnostics.contains { $0.message.contains("targets ≥ 0") && $0.location?.line == 3 }
    )
  }
}

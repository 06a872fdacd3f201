// `data.class_weights`: `balanced` equals scikit-learn's compute_class_weight on the training
// split; a weighted step equals an unweighted step over a batch in which a row of weight 2
// appears twice (rescaled for the different row count), for cross-entropy, binary
// cross-entropy; evaluation reports the plain loss; bad mappings are located errors.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct ClassWeightTests {
  /// A CSV of two features and a class column with `counts[c]` rows of class `names[c]`.
  static func imbalancedCSV(_ counts: [Int], names: [String]) throws -> String {
    var text = "a,b,label\n"
    var i = 0
    for (c, n) in counts.enumerated() {
      for _ in 0..<n {
        text += "\(Double(i % 7) / 7),\(Double(c) + Double(i % 3) / 5),\(names[c])\n"
        i += 1
      }
    }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      // Named by counts and class names: two tests of the same counts run at once.
      "mlpc-class-weights-\(counts.map(String.init).joined(separator: "-"))-\(names.joined(separator: "-")).csv"
    ).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  static func spec(_ csv: String, _ weights: String, outputs: Int = 3, extra: String = "")
    -> String
  {
    let output = outputs == 1 ? "sigmoid" : "softmax"
    return """
      task: classification
      loss: \(outputs == 1 ? "binary_cross_entropy" : "cross_entropy")
      input: 2
      layers: [{units: 5, activation: tanh}, {units: \(outputs), activation: \(output)}]
      data: {train: \(csv), target: label, class_weights: \(weights)\(extra)}
      training: {batch_size: 4, learning_rate: 0.1}
      """
  }

  @Test func balancedEqualsScikitLearn() throws {
    let counts = [30, 8, 2]
    let csv = try Self.imbalancedCSV(counts, names: ["cat", "dog", "eel"])
    let result = checkSpec(Self.spec(csv, "balanced"))
    let spec = try #require(result.spec, "\(result.diagnostics)")
    let weights = try #require(spec.data.classWeights)
    let n = 40.0
    let expected = counts.map { Float(n / (3 * Double($0))) }
    #expect(weights == expected)
    guard let python = CommandRunner.pythonWith(["numpy", "sklearn"]) else { return }
    let labels = try #require(spec.data.train.labels)
    let script = """
      import numpy as np
      from sklearn.utils.class_weight import compute_class_weight
      y = np.array(\(labels))
      print(",".join(repr(float(w)) for w in compute_class_weight("balanced", classes=np.arange(3), y=y)))
      """
    let run = try CommandRunner.run(python, ["-c", script])
    #expect(run.status == 0, "\(run.stderr)")
    let theirs = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      .split(separator: ",").compactMap { Double($0) }
    #expect(theirs.count == 3)
    for (ours, sk) in zip(weights, theirs) { #expect(abs(Double(ours) - sk) <= 1e-6 * sk) }
  }

  @Test func aMappingNamesClassesAndOthersWeighOne() throws {
    let csv = try Self.imbalancedCSV([6, 6, 6], names: ["cat", "dog", "eel"])
    let spec = try #require(checkSpec(Self.spec(csv, "{eel: 4.5, cat: 0.5}")).spec)
    #expect(spec.data.classWeights == [0.5, 1, 4.5])
    let typo = checkSpec(Self.spec(csv, "{dogs: 2}"))
    #expect(typo.spec == nil)
    let d = try #require(typo.diagnostics.first { $0.message.contains("'dogs'") })
    #expect(d.help == "did you mean 'dog'?")
    #expect(d.location?.line == 5)
    let negative = checkSpec(Self.spec(csv, "{dog: -1}"))
    #expect(negative.diagnostics.contains { $0.message.contains("greater than 0, found -1") })
    let word = checkSpec(Self.spec(csv, "balance"))
    #expect(word.diagnostics.contains { $0.help == "did you mean 'balanced'?" })
  }

  /// Weight 2 on class 0 ≡ each class-0 row twice: the weighted step over B rows equals the
  /// plain step over the B + (class-0 rows) rows of the duplicated batch, its gradients scaled
  /// by (B + extra) / B.
  @Test(arguments: [3, 1])
  func aWeightOfTwoEqualsARepeatedRow(outputs: Int) throws {
    let csv = try Self.imbalancedCSV(
      [6, 6, 6].prefix(max(outputs, 2)).map { $0 }, names: ["p", "q", "r"])
    let weighted = try #require(
      checkSpec(Self.spec(csv, "{p: 2}", outputs: outputs)).spec, "weighted")
    let plain = try #require(checkSpec(Self.spec(csv, "{p: 1}", outputs: outputs)).spec)
    let batch = [0, 7, 1, 9]  // rows 0 and 1 are class p
    let duplicated = [0, 0, 7, 1, 1, 9]
    let a = Executor(plan: PlanCompiler.compile(weighted, batchSize: 6), seed: 5)
    let b = Executor(plan: PlanCompiler.compile(plain, batchSize: 6), seed: 5)
    a.loadBatch(weighted.data.train, batch)
    b.loadBatch(plain.data.train, duplicated)
    for e in [a, b] { e.forward(rows: e === a ? 4 : 6) }
    let lossA = a.loss(rows: 4, weighted: true)
    let lossB = b.loss(rows: 6, weighted: true)
    #expect(abs(lossA - lossB) <= 1e-5 * abs(lossB))
    a.backward(rows: 4)
    b.backward(rows: 6)
    let plan = a.plan
    for id in plan.buffers.filter({
      if case .weightGradient = $0.role { true } else { false }
    }).map(\.id) {
      let (ga, gb) = (a.values(id), b.values(id))
      let worst = zip(ga, gb).map { abs(Double($0) - Double($1) * 6 / 4) }.max() ?? 0
      let size = gb.map { abs(Double($0)) }.max() ?? 0
      #expect(size > 0 && worst <= 1e-5 * size, "\(plan[id].name): \(worst)")
    }
    // Evaluation reports the plain loss: the same for both.
    a.loadBatch(weighted.data.train, batch)
    b.loadBatch(plain.data.train, batch)
    a.forward(rows: 4)
    b.forward(rows: 4)
    #expect(a.loss(rows: 4) == b.loss(rows: 4))
  }

  @Test func regressionWarns() {
    let result = checkSpec(
      """
      task: regression
      input: 1
      layers: [{units: 1}]
      data: {generator: sine, samples: 20, class_weights: balanced}
      """)
    #expect(result.spec != nil)
    #expect(result.diagnostics.contains { $0.message.contains("without class labels") })
  }

  /// A weight that is ∞ or 0 in single precision, which training uses, is refused where written.
  @Test(arguments: ["1e300", "1e-50"])
  func weightsMustSurviveSinglePrecision(_ weight: String) throws {
    let csv = try Self.imbalancedCSV([6, 6], names: ["cat", "dog"])
    let result = checkSpec(Self.spec(csv, "{cat: \(weight)}", outputs: 1))
    #expect(result.spec == nil)
    let d = try #require(result.diagnostics.first { $0.code == .hyperparameter })
    #expect(d.message.contains("single precision") && d.location?.line == 5)
  }
}

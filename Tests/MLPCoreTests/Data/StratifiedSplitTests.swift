// `data.stratify`: the validation split holds the same share of every class, by the largest
// remainder rule, checked against scikit-learn's stratified split counts where it is installed;
// the split covers every sample once and depends only on the seed; the spec key is checked.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct StratifiedSplitTests {
  static func data(_ counts: [Int]) -> Dataset {
    let labels = counts.enumerated().flatMap { c, n in [Int](repeating: c, count: n) }
    // Interleave the classes so that position says nothing about the label.
    let order = labels.indices.sorted { ($0 * 7919) % labels.count < ($1 * 7919) % labels.count }
    let shuffled = order.map { labels[$0] }
    return Dataset(
      features: shuffled.indices.map(Float.init),
      targets: [Float](repeating: 0, count: shuffled.count),
      inputs: 1, outputs: 1, labels: shuffled)
  }

  static func classCounts(_ d: Dataset, _ classes: Int) -> [Int] {
    (0..<classes).map { c in d.labels!.count { $0 == c } }
  }

  @Test(arguments: [
    ([80, 15, 5], 0.2, [16, 3, 1]),
    ([50, 37, 16], 0.3, [15, 11, 5]),
    ([3, 3, 3, 1], 0.5, [2, 2, 1, 0]),
  ])
  func everyClassKeepsItsShare(_ counts: [Int], _ fraction: Double, _ expected: [Int]) throws {
    let d = Self.data(counts)
    let (train, validation) = d.split(validationFraction: fraction, seed: 3, stratified: true)
    #expect(Self.classCounts(validation, counts.count) == expected)
    #expect(
      Self.classCounts(train, counts.count) == zip(counts, expected).map { $0 - $1 })
    // Every sample exactly once (features are the sample numbers).
    #expect((train.features + validation.features).sorted() == d.features.sorted())
    // The same seed, the same split; another seed, other samples.
    let again = d.split(validationFraction: fraction, seed: 3, stratified: true)
    #expect(again.validation.features == validation.features)
    let other = d.split(validationFraction: fraction, seed: 4, stratified: true)
    #expect(Self.classCounts(other.validation, counts.count) == expected)
    // scikit-learn refuses to stratify a class of one sample.
    guard counts.min()! >= 2, let python = CommandRunner.pythonWith(["numpy", "sklearn"]) else {
      return
    }
    let held = validation.count
    let script = """
      import numpy as np
      from sklearn.model_selection import train_test_split
      y = np.array(\(d.labels!))
      _, test = train_test_split(np.arange(len(y)), test_size=\(held), stratify=y, random_state=0)
      print(",".join(str(int((y[test] == c).sum())) for c in range(\(counts.count))))
      """
    let result = try CommandRunner.run(python, ["-c", script])
    #expect(result.status == 0, "\(result.stderr)")
    let theirs = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      .split(separator: ",").compactMap { Int($0) }
    #expect(theirs == expected, "scikit-learn: \(theirs)")
  }

  @Test func stratifyWithoutASplitOrLabelsIsWarned() {
    let noSplit = checkSpec(
      """
      task: classification
      input: 2
      layers: [{units: 3, activation: softmax}]
      data: {generator: blobs, classes: 3, samples: 60, stratify: true}
      """)
    #expect(noSplit.spec != nil)
    #expect(noSplit.diagnostics.contains { $0.message.contains("without 'data.validation_split'") })
    let regression = checkSpec(
      """
      task: regression
      input: 1
      layers: [{units: 1, activation: identity}]
      data: {generator: sine, samples: 60, validation_split: 0.2, stratify: true}
      """)
    #expect(regression.spec != nil)
    #expect(regression.diagnostics.contains { $0.message.contains("without class labels") })
  }
}

// Backpropagation against double-precision central differences for every hidden activation ×
// every valid (output activation, loss) pair, plus momentum/Adam state and partial batches.

import MLPCTestSupport
import MLPCore
import Testing

struct GradientCase: CustomTestStringConvertible, Sendable {
  var hidden: Activation
  var output: Activation
  var loss: LossKind
  var testDescription: String { "\(hidden.rawValue)→\(output.rawValue)+\(loss.rawValue)" }

  var spec: String {
    let classification = loss != .mse || output == .softmax
    let units = loss == .binaryCrossEntropy ? 1 : (classification ? 3 : 2)
    let data =
      loss == .binaryCrossEntropy
      ? "{generator: blobs, classes: 2, dimensions: 3, samples: 40}"
      : classification
        ? "{generator: blobs, classes: 3, dimensions: 3, samples: 40}"
        : "{train: \(Repository.path("Tests/Fixtures/two-targets.csv")), target: [y1, y2]}"
    return """
      task: \(classification ? "classification" : "regression")
      input: 3
      layers:
        - {units: 5, activation: \(hidden.rawValue), negative_slope: 0.2}
        - {units: 4, activation: \(hidden.rawValue), negative_slope: 0.2}
        - {units: \(units), activation: \(output.rawValue), negative_slope: 0.2}
      loss: \(loss.rawValue)
      data: \(data)
      """
  }

  static let all: [GradientCase] = Activation.allCases.filter { $0 != .softmax }.flatMap { hidden in
    Activation.allCases.map { GradientCase(hidden: hidden, output: $0, loss: .mse) }
      + [
        GradientCase(hidden: hidden, output: .softmax, loss: .crossEntropy),
        GradientCase(hidden: hidden, output: .sigmoid, loss: .binaryCrossEntropy),
      ]
  }
}

@Suite struct GradientTests {
  @Test(arguments: GradientCase.all)
  func backpropMatchesFiniteDifferences(_ c: GradientCase) throws {
    let result = checkSpec(c.spec)
    let spec = try #require(result.spec, "\(result.diagnostics)")
    let plan = PlanCompiler.compile(spec, batchSize: 6)
    let results = GradientCheck.run(
      Executor(plan: plan, seed: 3), data: spec.data.train, rows: 6, samplesPerTensor: 40)
    #expect(results.count == 6)
    for r in results {
      #expect(r.checkedElements > 0, "\(r.tensor): nothing checked")
      #expect(r.worstRelativeError < 1e-3, "\(r.tensor): \(r.worstRelativeError)")
    }
  }

  @Test func everyActivationIsCovered() {
    let hidden = Activation.allCases.count - 1  // softmax is output-only
    #expect(GradientCase.all.count == hidden * (Activation.allCases.count + 2))
  }
}

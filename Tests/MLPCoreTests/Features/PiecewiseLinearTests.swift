// The piecewise-linear encoding (`scale: piecewise_linear`) against rtdl_num_embeddings itself
// (scripts/ple_oracle.py → Tests/Fixtures/piecewise_linear_rtdl.json, float64): the quantile bin
// edges `compute_bins` fits on training columns (normal, skewed, six repeated values, two values)
// for 2, 8 and 48 bins, and `PiecewiseLinearEncoding` of values inside, between, on and beyond the
// edges; the spec's `bins` key and what a column with one value gets.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct PiecewiseLinearTests {
  struct Case: Decodable, CustomTestStringConvertible, Sendable {
    var name: String
    var bins: Int
    var train: [Double]
    var edges: [Double]
    var test: [Double]
    var encoding: [[Double]]
    var testDescription: String { name }

    static func all() -> [Case] {
      let path = Repository.path("Tests/Fixtures/piecewise_linear_rtdl.json")
      let data = FileManager.default.contents(atPath: path) ?? Data()
      return (try? JSONDecoder().decode([Case].self, from: data)) ?? []
    }
  }

  @Test func fixtureCoversTheCases() {
    let cases = Case.all()
    #expect(cases.count == 12)
    #expect(cases.contains { $0.edges.count == 2 }, "a single bin")
    #expect(cases.contains { $0.edges.count < $0.bins + 1 && $0.edges.count > 2 }, "merged edges")
  }

  @Test(arguments: Case.all())
  func edgesAndEncodingEqualRtdl(_ c: Case) throws {
    let fitted = NumericTransform.fit(
      c.train.map { $0 }, missing: .error, scaling: .piecewiseLinear, bins: c.bins)
    let t = try fitted.get()
    let edges = try #require(t.edges)
    #expect(edges.count == c.edges.count, "\(edges) vs \(c.edges)")
    // compute_bins' float32 levels and torch's interpolation, reproduced: the same edges.
    for (a, b) in zip(edges, c.edges) {
      #expect(abs(a - b) <= 1e-12 * max(1, abs(b)), "\(a) vs \(b)")
    }
    #expect(t.width == c.edges.count - 1)
    var row = [Float](repeating: .nan, count: t.width)
    for (x, want) in zip(c.test, c.encoding) {
      let written = row.withUnsafeMutableBufferPointer { t.write(x, into: $0) }
      #expect(throws: Never.self) { try written.get() }
      #expect(want.count == t.width)
      // rtdl holds the encoding's weight 1/width and bias −e_t/width in float32 buffers, so its
      // own result is off by a few float32 ulps of x/width and e_t/width: that is the tolerance.
      for (t, (got, w)) in zip(row, want).enumerated() {
        let magnitude = (abs(x) + abs(edges[t])) / (edges[t + 1] - edges[t])
        #expect(
          abs(Double(got) - w) <= 2.4e-7 * magnitude + 1e-7 * max(1, abs(w)),
          "x = \(x), bin \(t): \(got) vs \(w)")
      }
    }
  }

  @Test func missingCellsAreFilledAndFlaggedAfterTheBins() throws {
    let t = try NumericTransform.fit(
      [1, 2, 3, nil, 5, 6], missing: .median, indicator: true, scaling: .piecewiseLinear, bins: 4
    ).get()
    #expect(t.fill == 3 && t.width == t.valueWidth + 1)
    var row = [Float](repeating: .nan, count: t.width)
    _ = row.withUnsafeMutableBufferPointer { t.write(nil, into: $0) }
    var filled = [Float](repeating: .nan, count: t.width)
    _ = filled.withUnsafeMutableBufferPointer { t.write(3, into: $0) }
    #expect(Array(row.dropLast()) == Array(filled.dropLast()))
    #expect(row.last == 1 && filled.last == 0)
  }

  @Test func aColumnWithOneValueIsRefused() {
    let fitted = NumericTransform.fit([4, 4, 4], missing: .error, scaling: .piecewiseLinear)
    guard case .failure(let p) = fitted else {
      Issue.record("a constant column was fitted")
      return
    }
    #expect(p.description.contains("at least two distinct values"))
  }

  /// The network knows where each feature starts in x^0, the model file gives it back, and
  /// TabM-mini's layer 1 cuts its blocks for rows of runs there (so a number's bins are one run
  /// piece) in the training plan and in the inference plan of the saved model alike.
  @Test func layerOneCutsItsBlocksWhereFeaturesStart() throws {
    let text = """
      task: regression
      ensemble: 4
      layers: [{units: 64, activation: relu}, {units: 1}]
      data:
        train: \(Repository.path("Tests/Fixtures/two-targets.csv"))
        target: y1
        features:
          a: {type: numeric, scale: piecewise_linear, bins: 16}
          b: {type: numeric, scale: piecewise_linear, bins: 16}
          c: numeric
          y2: ignore
      """
    let checked = checkSpec(text)
    let spec = try #require(checked.spec, "\(checked.diagnostics)")
    let encoder = try #require(spec.data.encoder)
    let (wa, wb) = (encoder.columns[0].inputWidth, encoder.columns[1].inputWidth)
    #expect(wa >= 8 && wb >= 8, "bins: \(wa), \(wb)")
    #expect(spec.network.featureStarts == [0, wa, wa + wb])
    let blocks = { (plan: ExecutionPlan) -> [Int]? in
      for op in plan.forward {
        if case .adaptedDense(_, _, _, _, _, _, let runs, _, _, _, _, _, _, _) = op {
          return runs.blocks.starts
        }
      }
      return nil
    }
    // A block for each feature (b's has 8 columns or more, so c starts one); they end at n^0.
    let expected = [0, wa, wa + wb, wa + wb + 1]
    #expect(blocks(PlanCompiler.compile(spec)) == expected)
    let trainer = Trainer(spec)
    _ = try trainer.runEpoch(1)
    let model = try Model.decode(Model.encode(spec, trainer.executor), file: "m.safetensors")
    #expect(model.network.featureStarts == spec.network.featureStarts)
    #expect(blocks(PlanCompiler.compileInference(model.network, batchSize: 8)) == expected)
  }

  @Test func binsAreCheckedInTheSpec() {
    let spec = { (treatment: String) in
      """
      task: regression
      layers: [{units: 4, activation: relu}, {units: 1}]
      data:
        train: \(Repository.path("Tests/Fixtures/two-targets.csv"))
        target: y1
        features: {a: \(treatment), b: numeric, c: numeric, y2: ignore}
      """
    }
    let messages = { (treatment: String) in checkSpec(spec(treatment)).diagnostics.map(\.message) }
    #expect(
      messages("{type: numeric, scale: piecewise_linear, bins: 1}").contains {
        $0.contains("'data.features.a.bins' must be a whole number from 2 to 1024")
      })
    #expect(
      messages("{type: numeric, bins: 8}").contains {
        $0.contains("'data.features.a.bins' has no effect without 'scale: piecewise_linear'")
      })
    let ok = checkSpec(spec("{type: numeric, scale: piecewise_linear, bins: 4}"))
    #expect(ok.spec != nil, "\(ok.diagnostics)")
    #expect((ok.spec?.network.input ?? 0) > 3, "a takes one column per bin")
  }
}

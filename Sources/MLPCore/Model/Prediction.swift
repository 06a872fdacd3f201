// Using a trained model on new rows: the model's feature columns found in a CSV header by name,
// rows streamed from the file in batches through an inference-only plan (memory stays flat for a
// file of any size), and outputs turned into the cells `mlpc predict` writes. Bad cells and
// missing columns are located diagnostics, like the checker's.

import Foundation

/// A model compiled for inference at a fixed batch size.
public final class Predictor {
  public let model: Model
  public let executor: Executor
  /// Output units n^N.
  public var outputs: Int { model.network.layers.last!.units }

  /// The most floats the rows of one forward pass may take (256 MB): a wide model's batch is
  /// cut to fit, so a model file cannot make prediction allocate without bound.
  public static let maximumBatchFloats = 1 << 26

  /// The batch actually used for `batchSize` rows asked for, at most `rows` when the rows are
  /// known to be fewer, and within `maximumBatchFloats`.
  public static func batchSize(_ batchSize: Int, for network: Network, rows: Int? = nil) -> Int {
    let perRow = network.layers.reduce(network.input) { $0 + $1.units }
    return max(1, min(batchSize, rows ?? batchSize, maximumBatchFloats / perRow))
  }

  /// A predictor running at most `batchSize` rows at a time (fewer when `rows` are known to be
  /// fewer, or the model is wide: `batchSize(_:for:rows:)`).
  public init(_ model: Model, batchSize: Int = 512, rows: Int? = nil) {
    self.model = model
    let batch = Self.batchSize(batchSize, for: model.network, rows: rows)
    executor = Executor(
      plan: PlanCompiler.compileInference(model.network, batchSize: batch), seed: 0)
    let plan = executor.plan
    for id in plan.weights + plan.biases {
      executor.setValues(id, model.tensors[plan[id].name]!.values)
    }
  }

  /// x^N for `rows` rows of raw features (standardised here when the model was trained so).
  public func run(_ features: [Float], rows: Int) -> UnsafeBufferPointer<Float> {
    let inputs = model.network.input
    precondition(features.count >= rows * inputs && rows <= executor.plan.batchSize)
    let x = executor.pointer(executor.plan.input)
    x.update(from: features, count: rows * inputs)
    model.standardizer?.apply(x, rows: rows)
    executor.forward(rows: rows)
    return UnsafeBufferPointer(
      start: executor.pointer(executor.plan.output), count: rows * outputs)
  }

  /// Where the model's features (and the `keep` and `extra` columns) are in `header`; nil, with
  /// an E012 diagnostic per missing column, when any is absent.
  public static func columns(
    _ names: [String], in header: [String], file: String, diagnostics: inout [Diagnostic]
  ) -> [Int]? {
    let at = SourceLocation(file: file, line: 1, column: 1)
    let found = names.map { name in header.firstIndex(of: name) }
    for (name, index) in zip(names, found) where index == nil {
      diagnostics.append(
        Diagnostic(
          .unknownColumn, "no column '\(name)' in '\(file)'", at: at,
          help: closest(to: name, in: header).map { "did you mean '\($0)'?" }))
    }
    return found.contains(nil) ? nil : found.map { $0! }
  }

  /// Streams every row of `reader` through the model `batchSize` rows at a time: `emit` gets
  /// each row's record and its outputs x^N. False, with a located E019, at the first feature
  /// cell that is not a number or a row with too few fields.
  public func stream(
    _ reader: CSVReader, features: [Int], diagnostics: inout [Diagnostic],
    emit: (CSVRecord, UnsafeBufferPointer<Float>) -> Void
  ) -> Bool {
    let (inputs, batch) = (model.network.input, executor.plan.batchSize)
    var x = [Float](repeating: 0, count: batch * inputs)
    var pending: [CSVRecord] = []
    func flush() {
      let out = run(x, rows: pending.count)
      for (r, record) in pending.enumerated() {
        emit(record, UnsafeBufferPointer(rebasing: out[r * outputs..<(r + 1) * outputs]))
      }
      pending.removeAll(keepingCapacity: true)
    }
    var problem: Diagnostic?
    reader.forEachRecord { record in
      for (c, column) in features.enumerated() {
        guard column < record.count else {
          problem = Diagnostic(
            .badData, "row has \(record.count) fields, too few for column \(column + 1)",
            at: record.location)
          return false
        }
        guard let value = record.number(column) else {
          problem = Diagnostic(
            .badData, "'\(record.text(column).prefix(40))' is not a number",
            at: record.location(column))
          return false
        }
        x[pending.count * inputs + c] = value
      }
      pending.append(record)
      if pending.count == batch { flush() }
      return true
    }
    if let problem {
      diagnostics.append(problem)
      return false
    }
    if !pending.isEmpty { flush() }
    return true
  }

  /// The columns `cells(_:probabilities:)` fills: the predicted class (and one probability per
  /// class), or one value per regression target.
  public func outputColumns(probabilities: Bool) -> [String] {
    guard let classes else { return model.description.targets }
    return ["predicted"] + (probabilities ? classes.map { "p_\($0)" } : [])
  }

  /// A row's output as text cells, in `outputColumns` order.
  public func cells(_ out: UnsafeBufferPointer<Float>, probabilities: Bool) -> [String] {
    guard let classes else { return out.map { "\($0)" } }
    let p = classProbabilities(out)
    var best = out.count == 1 && out[0] >= 0.5 ? 1 : 0  // the trainer's rule for one unit
    for c in 1..<p.count where out.count > 1 && p[c] > p[best] { best = c }
    return [classes[best]] + (probabilities ? p.map { "\($0)" } : [])
  }

  /// Probabilities of every class: softmax outputs as they are, one sigmoid unit as (1 − p, p).
  public func classProbabilities(_ out: UnsafeBufferPointer<Float>) -> [Float] {
    out.count == 1 ? [1 - out[0], out[0]] : Array(out)
  }

  /// Class names in output order (classification).
  public var classes: [String]? {
    guard model.network.task == .classification else { return nil }
    return model.description.classes
      ?? (0..<max(2, outputs)).map(String.init)
  }
}

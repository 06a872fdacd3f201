// Using a trained model on new rows: the model's feature columns found in a CSV header by name,
// rows streamed from the file in batches through an inference-only plan (memory stays flat for a
// file of any size), and outputs turned into the cells `mlpc predict` writes. Bad cells and
// missing columns are located diagnostics, like the checker's.

import Foundation

/// A model compiled for inference at a fixed batch size.
public final class Predictor {
  public let model: Model
  public let executor: Executor
  /// Per feature column, the rows streamed so far whose level was never seen in training, and
  /// the first such level (they are encoded as unknown; callers report them).
  public private(set) var unseen: [String: (count: Int, first: String)] = [:]
  /// The lines of the rows the last `stream` skipped for a missing cell in `skippingMissing`.
  public private(set) var skippedLines: [Int] = []
  /// The cells that mean missing (the model's transforms record them).
  private let missingValues: Set<String>
  /// Output units n^N.
  public var outputs: Int { model.network.layers.last!.units }
  /// The row `stream` is emitting, within its batch of `rows` (for `memberOutputs`).
  private var emitting = (row: 0, rows: 0)

  /// The most floats the rows of one forward pass may take (256 MB): a wide model's batch is
  /// cut to fit, so a model file cannot make prediction allocate without bound.
  public static let maximumBatchFloats = 1 << 26

  /// The batch actually used for `batchSize` rows asked for, at most `rows` when the rows are
  /// known to be fewer, and within `maximumBatchFloats`.
  /// An ensemble's k members each keep their own rows from layer 1's input on; periodic
  /// embeddings keep their sines and cosines.
  public static func batchSize(_ batchSize: Int, for network: Network, rows: Int? = nil) -> Int {
    let members = network.members
    let widths = network.widths
    // TabM's BatchEnsemble layers keep their scaled input and their product besides.
    let perMember =
      network.layers.reduce(members > 1 ? network.input : 0) { $0 + $1.units }
      + network.batchEnsembleLayers.reduce(0) { $0 + widths[$1 - 1] + widths[$1] }
    let perRow =
      network.input + network.loadedColumns + network.periodicWidth + members * perMember
      + (members > 1 ? network.layers.last!.units : 0)
    return max(1, min(batchSize, rows ?? batchSize, maximumBatchFloats / perRow))
  }

  /// A predictor running at most `batchSize` rows at a time (fewer when `rows` are known to be
  /// fewer, or the model is wide: `batchSize(_:for:rows:)`).
  public init(_ model: Model, batchSize: Int = 512, rows: Int? = nil) {
    self.model = model
    missingValues = Set(model.description.transforms?.missingValues ?? [])
    let batch = Self.batchSize(batchSize, for: model.network, rows: rows)
    executor = Executor(
      plan: PlanCompiler.compileInference(model.network, batchSize: batch), seed: 0)
    let plan = executor.plan
    for id in plan.parameterTensors {
      executor.setValues(id, model.tensors[plan[id].name]!.values)
    }
  }

  /// x^N for `rows` rows of raw features, or of encoded rows when the model has transforms
  /// (standardised here when the model was trained so).
  public func run(_ features: [Float], rows: Int) -> UnsafeBufferPointer<Float> {
    features.withUnsafeBufferPointer { run($0, rows: rows) }
  }

  /// `run(_:rows:)` from rows anywhere in memory.
  public func run(_ features: UnsafeBufferPointer<Float>, rows: Int) -> UnsafeBufferPointer<Float> {
    let inputs = model.network.loadedColumns
    precondition(features.count >= rows * inputs && rows <= executor.plan.batchSize)
    let x = executor.pointer(executor.plan.input)
    if rows > 0 { x.update(from: features.baseAddress!, count: rows * inputs) }
    model.standardizer?.apply(x, rows: rows)
    executor.forward(rows: rows)
    return UnsafeBufferPointer(
      start: executor.pointer(executor.plan.output), count: rows * outputs)
  }

  /// Each member's own x^N (probabilities or scaled targets, like `run`'s) for the row `stream`
  /// is emitting; empty for a single network.
  public func memberOutputs() -> [UnsafeBufferPointer<Float>] {
    memberOutputs(row: emitting.row, of: emitting.rows)
  }

  /// Each member's own x^N for row `row` of the last `run` of `rows` rows; empty for a single
  /// network.
  public func memberOutputs(row: Int, of rows: Int) -> [UnsafeBufferPointer<Float>] {
    let (members, plan) = (model.network.members, executor.plan)
    guard members > 1 else { return [] }
    precondition(row >= 0 && row < rows && rows <= plan.batchSize)
    let last = plan.buffers.first { $0.role == .activation(layer: model.network.layers.count) }!
    let x = executor.pointer(last.id)
    return (0..<members).map { m in
      UnsafeBufferPointer(start: x + (m * rows + row) * outputs, count: outputs)
    }
  }

  /// Where the model's features (and the `keep` and `extra` columns) are in `header`; nil, with
  /// an E012 diagnostic per missing column, when any is absent.
  public static func columns(
    _ names: [String], in header: [String], file: String, diagnostics: inout [Diagnostic]
  ) -> [Int]? {
    let at = SourceLocation(file: file, line: 1, column: 1)
    let found = names.map { name in header.firstIndex(of: name) }
    let missing = zip(names, found).filter { $0.1 == nil }.map(\.0)
    let quoted = { (list: [String]) in
      list.prefix(8).map { "'\(safeText($0, limit: 60))'" }.joined(separator: ", ")
        + (list.count > 8 ? ", … (\(list.count) in all)" : "")
    }
    let columns = DiagnosticNote("the file's columns: " + quoted(header))
    // A header read whole as one column: the file has another delimiter.
    let delimiter = CSVReader.likelyDelimiter(of: header).map {
      "the header looks '\($0)'-separated: pass --delimiter '\($0)'"
    }
    if missing.count == names.count, names.count > 1 {
      // The wrong file or the wrong delimiter, most likely: one message, not one per column.
      diagnostics.append(
        Diagnostic(
          .unknownColumn,
          "none of the \(names.count) columns the model reads are in '\(file)' (\(quoted(names)))",
          at: at, notes: [columns],
          help: delimiter ?? "is this the file the model was meant for?"))
    } else if missing.count > 3 {
      diagnostics.append(
        Diagnostic(
          .unknownColumn,
          "\(missing.count) of the \(names.count) columns the model reads are not in '\(file)': \(quoted(missing))",
          at: at, notes: [columns], help: delimiter))
    } else {
      for name in missing {
        diagnostics.append(
          Diagnostic(
            .unknownColumn, "no column '\(name)' in '\(file)'", at: at,
            help: delimiter ?? closest(to: name, in: header).map { "did you mean '\($0)'?" }))
      }
    }
    return found.contains(nil) ? nil : found.map { $0! }
  }

  /// Streams every row of `reader` through the model `batchSize` rows at a time: `emit` gets
  /// each row's record and its outputs x^N. The file is read by the checker's rules, with its
  /// diagnostics: no NUL byte, no unterminated quote, every row as wide as the header (`width`),
  /// every feature cell and every `numbers` cell a number in single precision, every `texts`
  /// cell (kept columns, labels) valid UTF-8, and at least one row. At the first bad row
  /// nothing more is emitted; up to `CSVReader.errorLimit` problems are reported, and the result
  /// is false. A row whose cell in one of `skippingMissing` is one of the model's missing values
  /// (a target that training would have dropped) is skipped, its line kept in `skippedLines`.
  public func stream(
    _ reader: CSVReader, features: [Int], numbers: [Int] = [], texts: [Int] = [],
    skippingMissing: [Int] = [], width: Int,
    diagnostics: inout [Diagnostic], emit: (CSVRecord, UnsafeBufferPointer<Float>) -> Void
  ) -> Bool {
    let mark = diagnostics.count
    skippedLines = []
    let ok = streamChecked(
      reader, features: features, numbers: numbers, texts: texts, skipping: skippingMissing,
      width: width, diagnostics: &diagnostics, emit: emit)
    // A file truncated underneath reads as zeros past its new end: what was said about those
    // is replaced by the one true problem.
    guard !reader.changedWhileRead else {
      diagnostics.removeSubrange(mark...)
      return reader.stillIntact(diagnostics: &diagnostics)
    }
    return ok
  }

  private func streamChecked(
    _ reader: CSVReader, features: [Int], numbers: [Int], texts: [Int], skipping: [Int],
    width: Int,
    diagnostics: inout [Diagnostic], emit: (CSVRecord, UnsafeBufferPointer<Float>) -> Void
  ) -> Bool {
    guard reader.isReadableText(diagnostics: &diagnostics) else { return false }
    let (inputs, batch) = (model.network.loadedColumns, executor.plan.batchSize)
    var x = [Float](repeating: 0, count: batch * inputs)
    var pending: [CSVRecord] = []
    func flush() {
      let out = run(x, rows: pending.count)
      for (r, record) in pending.enumerated() {
        emitting = (r, pending.count)
        emit(record, UnsafeBufferPointer(rebasing: out[r * outputs..<(r + 1) * outputs]))
      }
      pending.removeAll(keepingCapacity: true)
    }
    var errors = 0
    var rows = 0
    func problem(_ d: Diagnostic) {
      errors += 1
      if errors <= CSVReader.errorLimit { diagnostics.append(d) }
    }
    reader.forEachRecord { record in
      rows += 1
      if let ragged = record.widthProblem(width) {
        problem(ragged)
        return errors < CSVReader.errorLimit
      }
      if skipping.contains(where: { missingValues.contains(record.trimmedText($0)) }) {
        skippedLines.append(record.location.line)
        return true
      }
      let before = errors
      if let encoder = model.description.transforms {
        // Raw cells through the fitted transforms, straight into the input row.
        var cells: [RawCell] = []
        for (k, column) in features.enumerated() {
          let text = record.trimmedText(column)
          let isMissing = missingValues.contains(text)
          if encoder.columns[k].categorical != nil {
            cells.append(.text(isMissing ? nil : text))
          } else if isMissing {
            cells.append(.number(nil))
          } else if let value = record.number(column) {
            cells.append(.number(Double(value)))
          } else {
            problem(record.numberProblem(column))
            cells.append(.number(nil))
          }
        }
        if errors == before {
          let row = x.withUnsafeMutableBufferPointer {
            encoder.encode(
              cells,
              into: UnsafeMutableBufferPointer(
                rebasing: $0[pending.count * inputs..<(pending.count + 1) * inputs]))
          }
          switch row {
          case .success(let unseenColumns):
            for k in unseenColumns {
              let name = encoder.columns[k].name
              if case .text(let t) = cells[k] {
                unseen[name] = (
                  (unseen[name]?.count ?? 0) + 1, unseen[name]?.first ?? t ?? "(missing)"
                )
              }
            }
          case .failure(let p):
            problem(
              Diagnostic(
                .badData, "feature '\(encoder.columns[p.column ?? 0].name)': \(p.description)",
                at: record.location(features[p.column ?? 0])))
          }
        }
      } else {
        for (c, column) in features.enumerated() {
          guard let value = record.number(column) else {
            problem(record.numberProblem(column))
            continue
          }
          x[pending.count * inputs + c] = value
        }
      }
      for column in numbers where record.number(column) == nil {
        problem(record.numberProblem(column))
      }
      for column in texts where !record.isText(column) {
        problem(
          Diagnostic(
            .badData, "this cell is not valid UTF-8 text", at: record.location(column),
            help: "save the file as UTF-8"))
      }
      guard errors == before, errors == 0 else { return errors < CSVReader.errorLimit }
      pending.append(record)
      if pending.count == batch { flush() }
      return true
    }
    if errors > CSVReader.errorLimit {
      diagnostics.append(
        .notShown(
          .badData, "\(errors - CSVReader.errorLimit) more problems in '\(reader.path)' not shown"))
    }
    if errors > 0 { return false }
    if rows == 0 {
      diagnostics.append(
        Diagnostic(
          .emptyData, "'\(reader.path)' has a header but no rows",
          at: SourceLocation(file: reader.path, line: 1, column: 1)))
      return false
    }
    if rows == skippedLines.count {
      diagnostics.append(
        Diagnostic(
          .emptyData, "every row of '\(reader.path)' has a missing target: nothing to score",
          at: SourceLocation(file: reader.path, line: skippedLines[0], column: 1)))
      return false
    }
    if !pending.isEmpty { flush() }
    return true
  }

  /// A warning for the rows the last `stream` skipped for a missing target, if any.
  public func skippedWarning(file: String) -> [Diagnostic] {
    guard let first = skippedLines.first else { return [] }
    let n = skippedLines.count
    let lines = skippedLines.prefix(5).map(String.init).joined(separator: ", ")
    return [
      Diagnostic(
        .dataWarning,
        "\(n) row\(n == 1 ? "" : "s") of '\(file)' with a missing target not scored (line\(n == 1 ? "" : "s") \(lines)\(n > 5 ? ", …" : ""))",
        at: SourceLocation(file: file, line: first, column: 1))
    ]
  }

  /// A warning per feature column whose levels were never seen in training, for `file`.
  public func unseenWarnings(file: String) -> [Diagnostic] {
    unseen.sorted { $0.key < $1.key }.map { name, u in
      Diagnostic(
        .dataWarning,
        unseenLevelsText(u.count, feature: name, first: u.first),
        at: SourceLocation(file: file, line: 1, column: 1))
    }
  }

  /// How this model's outputs read.
  public var reading: OutputReading { OutputReading(model) }

  /// The columns `cells(_:probabilities:)` fills: the predicted class (and one probability per
  /// class), or one value per regression target.
  public func outputColumns(probabilities: Bool) -> [String] {
    reading.outputColumns(probabilities: probabilities)
  }

  /// A row's output as text cells, in `outputColumns` order (`OutputReading.cells`).
  public func cells(_ out: UnsafeBufferPointer<Float>, probabilities: Bool, threshold: Float = 0.5)
    -> [String]
  {
    reading.cells(out, probabilities: probabilities, threshold: threshold)
  }

  /// A regression row's outputs in the targets' own units (inverting the target scaling).
  public func targetValues(_ out: UnsafeBufferPointer<Float>) -> [Float] {
    reading.targetValues(out)
  }

  /// Probabilities of every class: softmax outputs as they are, one sigmoid unit as (1 − p, p).
  public func classProbabilities(_ out: UnsafeBufferPointer<Float>) -> [Float] {
    reading.classProbabilities(out)
  }

  /// Whether the model is a classifier with one sigmoid unit (a decision threshold applies).
  public var hasOneSigmoidUnit: Bool { reading.hasOneSigmoidUnit }

  /// Class names in output order (classification).
  public var classes: [String]? { reading.classes }
}

/// How a model's outputs x^N read: class names and probabilities, or regression targets in
/// their own units. A value, usable from any thread (the server formats replies with it while
/// the predictor runs elsewhere).
public struct OutputReading: Sendable {
  /// Class names in output order (classification), else nil.
  public let classes: [String]?
  /// The regression targets' names.
  public let targets: [String]
  /// Output units n^N.
  public let outputs: Int
  private let targetScale: TargetScaler?

  public init(_ model: Model) {
    outputs = model.network.layers.last!.units
    targets = model.description.targets
    targetScale = model.description.targetScale
    classes =
      model.network.task == .classification
      ? model.description.classes ?? (0..<max(2, outputs)).map(String.init) : nil
  }

  /// Whether the model is a classifier with one sigmoid unit (a decision threshold applies).
  public var hasOneSigmoidUnit: Bool { classes != nil && outputs == 1 }

  /// The columns `cells(_:probabilities:)` fills: the predicted class (and one probability per
  /// class), or one value per regression target.
  public func outputColumns(probabilities: Bool) -> [String] {
    guard let classes else { return targets }
    return ["predicted"] + (probabilities ? classes.map { "p_\($0)" } : [])
  }

  /// The predicted class's index; `threshold`: the probability from which one sigmoid unit
  /// predicts the second class (default 0.5, the trainer's rule), else the most probable class
  /// (the first of equals).
  public func predictedClass(_ out: UnsafeBufferPointer<Float>, threshold: Float = 0.5) -> Int {
    if out.count == 1 { return out[0] >= threshold ? 1 : 0 }
    var best = 0
    for c in 1..<out.count where out[c] > out[best] { best = c }
    return best
  }

  /// A row's output as text cells, in `outputColumns` order.
  public func cells(_ out: UnsafeBufferPointer<Float>, probabilities: Bool, threshold: Float = 0.5)
    -> [String]
  {
    guard let classes else { return targetValues(out).map { "\($0)" } }
    let best = predictedClass(out, threshold: threshold)
    return [classes[best]] + (probabilities ? classProbabilities(out).map { "\($0)" } : [])
  }

  /// A regression row's outputs in the targets' own units (inverting the target scaling).
  public func targetValues(_ out: UnsafeBufferPointer<Float>) -> [Float] {
    guard let t = targetScale else { return Array(out) }
    return out.indices.map { Float(t.inverse(Double(out[$0]), $0)) }
  }

  /// Probabilities of every class: softmax outputs as they are, one sigmoid unit as (1 − p, p).
  public func classProbabilities(_ out: UnsafeBufferPointer<Float>) -> [Float] {
    out.count == 1 ? [1 - out[0], out[0]] : Array(out)
  }
}

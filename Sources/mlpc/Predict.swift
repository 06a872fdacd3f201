// `mlpc predict MODEL_OR_RUN DATA.csv`: the model's outputs for every row of a CSV file, streamed
// in batches, written as CSV (or JSON lines) with the predicted class (and probabilities) or the
// regression targets, plus any columns asked to be kept.

import ArgumentParser
import Foundation
import MLPCore

extension MLPCCommand {
  struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Predict with a trained model on the rows of a CSV file.")

    @OptionGroup var input: ModelDataOptions

    @Option(help: "Write here instead of standard output.")
    var out: String?

    @Option(help: "Copy this column of the input through (repeatable).")
    var keep: [String] = []

    @Flag(help: "Also write one probability per class.")
    var probabilities = false

    @Option(help: "Output: csv or jsonl.")
    var format: PredictionFormat = .csv

    @Option(parsing: .unconditional, help: "Rows per forward pass.")
    var batchSize = 512

    func validate() throws {
      if batchSize < 1 || batchSize > maximumWidth {
        throw ValidationError("--batch-size must be between 1 and \(maximumWidth)")
      }
      if let out, let conflict = outputConflict(out, inputs: [input.model, input.data]) {
        throw ValidationError(conflict)
      }
    }

    func run() throws {
      var diagnostics: [Diagnostic] = []
      defer { printDiagnostics(diagnostics) }
      let (predictor, reader, columns) = try input.open(
        batchSize: batchSize, columns: { [$0.features, keep] }, diagnostics: &diagnostics)
      let (features, kept) = (columns[0], columns[1])
      let names = keep + predictor.outputColumns(probabilities: probabilities)
      if let twice = names.first(where: { name in names.count { $0 == name } > 1 }) {
        throw ValidationError("--keep '\(twice)' would give two output columns that name")
      }
      let sink = try OutputSink(path: out)
      if format == .csv { sink.write(csvLine(names)) }
      let ok = predictor.stream(reader, features: features, diagnostics: &diagnostics) {
        record, output in
        let cells =
          kept.map { record.text($0) } + predictor.cells(output, probabilities: probabilities)
        sink.write(
          format == .csv
            ? csvLine(cells)
            : JSONRecord.line(Dictionary(uniqueKeysWithValues: zip(names, cells))) + "\n")
      }
      guard ok else {
        sink.abandon()
        throw ExitCode.failure
      }
      try sink.finish()
    }
  }
}

/// The model and data file that `predict` and `evaluate` read.
struct ModelDataOptions: ParsableArguments {
  @Argument(help: "A model.safetensors, or a run directory holding one.")
  var model: String

  @Argument(help: "A CSV file with a header naming the model's columns.")
  var data: String

  @Option(help: "Field delimiter of the CSV file.")
  var delimiter = ","

  func validate() throws {
    if delimiter.utf8.count != 1 { throw ValidationError("--delimiter must be one character") }
  }

  /// The model and an open reader of the data, with the header's column of every name in
  /// `columns(model)`; diagnostics collected on the way.
  func open(
    batchSize: Int = 512, columns: (ModelDescription) -> [[String]],
    diagnostics: inout [Diagnostic]
  ) throws -> (Predictor, CSVReader, [[Int]]) {
    let loaded: Model
    do { loaded = try Model.load(model) } catch { throw CleanError(error.description) }
    guard
      let reader = CSVReader(
        path: data, delimiter: delimiter.utf8.first!, diagnostics: &diagnostics, reference: nil)
    else { throw ExitCode.failure }
    let header = reader.header(diagnostics: &diagnostics)
    var found: [[Int]] = []
    for names in columns(loaded.description) {
      guard let c = Predictor.columns(names, in: header, file: data, diagnostics: &diagnostics)
      else { throw ExitCode.failure }
      found.append(c)
    }
    let rows = reader.maximumRows(fields: loaded.network.input)
    return (Predictor(loaded, batchSize: batchSize, rows: rows), reader, found)
  }
}

/// `--format` of `mlpc predict`.
enum PredictionFormat: String, ExpressibleByArgument, CaseIterable {
  case csv, jsonl
}

/// Prints data diagnostics to standard error as text.
func printDiagnostics(_ diagnostics: [Diagnostic]) {
  let renderer = DiagnosticRenderer(colored: isatty(2) == 1)
  for d in diagnostics { Console.err(renderer.text(d)) }
}

/// One CSV record: fields quoted (RFC 4180) when they hold a comma, a quote or a line break.
func csvLine(_ cells: [String]) -> String {
  cells.map { cell in
    cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
      ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
  }.joined(separator: ",") + "\n"
}

/// Buffered output to standard output, or to a file written next to its final name and moved
/// into place only when complete (a failed run leaves no partial file).
final class OutputSink {
  private let handle: FileHandle
  private let path: String?
  private let temporary: String?
  private var buffer = Data()

  init(path: String?) throws {
    self.path = path
    guard let path else {
      (handle, temporary) = (.standardOutput, nil)
      return
    }
    let temporary = path + ".partial-\(getpid())"
    guard FileManager.default.createFile(atPath: temporary, contents: nil),
      let handle = FileHandle(forWritingAtPath: temporary)
    else { throw CleanError("cannot write '\(path)'") }
    (self.handle, self.temporary) = (handle, temporary)
  }

  func write(_ text: String) {
    buffer.append(contentsOf: text.utf8)
    if buffer.count >= 1 << 16 { drain() }
  }

  private func drain() {
    handle.write(buffer)
    buffer.removeAll(keepingCapacity: true)
  }

  func finish() throws {
    drain()
    guard let path, let temporary else { return }
    try? handle.close()
    // rename(2) replaces an existing file atomically (Foundation's replaceItemAt fails on Linux
    // with "No such file or directory" when the destination exists).
    guard rename(temporary, path) == 0 else {
      let cause = String(cString: strerror(errno))
      try? FileManager.default.removeItem(atPath: temporary)
      throw CleanError("cannot write '\(path)': \(cause)")
    }
  }

  func abandon() {
    guard let temporary else { return }
    try? handle.close()
    try? FileManager.default.removeItem(atPath: temporary)
  }
}

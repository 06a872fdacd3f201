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

    @Argument(help: "A model.safetensors, or a run directory holding one.")
    var model: String

    @Argument(help: "A CSV file with a header naming the model's feature columns.")
    var data: String

    @Option(help: "Write here instead of standard output.")
    var out: String?

    @Option(help: "Copy this column of the input through (repeatable).")
    var keep: [String] = []

    @Flag(help: "Also write one probability per class.")
    var probabilities = false

    @Option(help: "Output: csv or jsonl.")
    var format: PredictionFormat = .csv

    @Option(help: "Rows per forward pass.")
    var batchSize = 512

    @Option(help: "Field delimiter of the input CSV.")
    var delimiter = ","

    func validate() throws {
      if batchSize < 1 || batchSize > maximumWidth {
        throw ValidationError("--batch-size must be between 1 and \(maximumWidth)")
      }
      if delimiter.utf8.count != 1 { throw ValidationError("--delimiter must be one character") }
    }

    func run() throws {
      let loaded: Model
      do { loaded = try Model.load(model) } catch { throw CleanError(error.description) }
      let predictor = Predictor(loaded, batchSize: batchSize)
      var diagnostics: [Diagnostic] = []
      defer { printDiagnostics(diagnostics) }
      guard
        let reader = CSVReader(
          path: data, delimiter: delimiter.utf8.first!, diagnostics: &diagnostics, reference: nil)
      else { throw ExitCode.failure }
      let header = reader.header(diagnostics: &diagnostics)
      guard
        let features = Predictor.columns(
          loaded.description.features, in: header, file: data, diagnostics: &diagnostics),
        let kept = Predictor.columns(keep, in: header, file: data, diagnostics: &diagnostics)
      else { throw ExitCode.failure }
      let sink = try OutputSink(path: out)
      let columns = keep + predictor.outputColumns(probabilities: probabilities)
      if format == .csv { sink.write(csvLine(columns)) }
      let ok = predictor.stream(reader, features: features, diagnostics: &diagnostics) {
        record, output in
        let cells =
          kept.map { record.text($0) } + predictor.cells(output, probabilities: probabilities)
        sink.write(
          format == .csv
            ? csvLine(cells)
            : jsonLine(Dictionary(uniqueKeysWithValues: zip(columns, cells))) + "\n")
      }
      guard ok else {
        sink.abandon()
        throw ExitCode.failure
      }
      try sink.finish()
    }
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
    do {
      if FileManager.default.fileExists(atPath: path) {
        _ = try FileManager.default.replaceItemAt(
          URL(fileURLWithPath: path), withItemAt: URL(fileURLWithPath: temporary))
      } else {
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
      }
    } catch { throw CleanError("cannot write '\(path)': \(error.localizedDescription)") }
  }

  func abandon() {
    guard let temporary else { return }
    try? handle.close()
    try? FileManager.default.removeItem(atPath: temporary)
  }
}

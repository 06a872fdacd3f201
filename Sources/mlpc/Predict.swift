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

    @Option(
      help: ArgumentHelp(
        "For a classifier with one sigmoid unit: predict the second class from this probability (default 0.5).",
        valueName: "p"))
    var threshold: Float?

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
      let (predictor, reader, columns, width) = try input.open(
        batchSize: batchSize, columns: { [$0.features, keep] }, diagnostics: &diagnostics)
      let (features, kept) = (columns[0], columns[1])
      if let threshold {
        guard predictor.hasOneSigmoidUnit else {
          throw CleanError(
            "--threshold applies to a classifier with one sigmoid unit; this model's outputs are \(predictor.classes == nil ? "regression targets" : "\(predictor.outputs) class probabilities (the most probable class is predicted)")"
          )
        }
        guard threshold.isFinite, threshold > 0, threshold < 1 else {
          throw CleanError("--threshold must be a probability between 0 and 1, found \(threshold)")
        }
      }
      let names = keep + predictor.outputColumns(probabilities: probabilities)
      if let twice = names.first(where: { name in names.count { $0 == name } > 1 }) {
        throw ValidationError("--keep '\(twice)' would give two output columns that name")
      }
      let sink = try OutputSink(path: out)
      if format == .csv { sink.write(csvLine(names)) }
      let ok = predictor.stream(
        reader, features: features, texts: kept, width: width, diagnostics: &diagnostics
      ) {
        record, output in
        let outputs = predictor.cells(
          output, probabilities: probabilities, threshold: threshold ?? 0.5)
        let texts = kept.map { record.text($0) }
        guard format == .jsonl else {
          sink.write(csvLine(texts + outputs))
          return
        }
        // JSON lines: kept cells and class names as strings, probabilities and targets as
        // numbers.
        let numbersFrom = predictor.classes == nil ? 0 : 1
        let values: [JSONCell] =
          texts.map { .text($0) }
          + outputs.enumerated().map { i, cell in
            i >= numbersFrom ? Double(cell).map(JSONCell.number) ?? .text(cell) : .text(cell)
          }
        sink.write(JSONRecord.line(Dictionary(uniqueKeysWithValues: zip(names, values))) + "\n")
      }
      guard ok else {
        sink.abandon()
        throw ExitCode.failure
      }
      diagnostics += predictor.unseenWarnings(file: input.data)
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

  @Option(help: "Field delimiter of the CSV file (one character, or '\\t' for a tab).")
  var delimiter = ","

  @Option(help: "The decimal point of the file's numbers: '.' or ','.")
  var decimal = "."

  func validate() throws {
    try validateDelimiter(delimiter)
    try validateDecimal(decimal, delimiter: delimiter)
  }

  /// The model and an open reader of the data, with the header's column of every name in
  /// `columns(model)`; diagnostics collected on the way.
  func open(
    batchSize: Int = 512, columns: (ModelDescription) -> [[String]],
    diagnostics: inout [Diagnostic]
  ) throws -> (Predictor, CSVReader, [[Int]], width: Int) {
    let loaded: Model
    do { loaded = try Model.load(model) } catch { throw CleanError(error.description) }
    guard
      let reader = CSVReader(
        path: data, delimiter: CSVReader.delimiter(delimiter)!,
        decimalPoint: CSVReader.decimalPoint(decimal)!, diagnostics: &diagnostics, reference: nil)
    else { throw ExitCode.failure }
    let header = reader.header(diagnostics: &diagnostics)
    guard !header.isEmpty, reader.checkHeader(header, diagnostics: &diagnostics) else {
      throw ExitCode.failure
    }
    var found: [[Int]] = []
    for names in columns(loaded.description) {
      guard let c = Predictor.columns(names, in: header, file: data, diagnostics: &diagnostics)
      else { throw ExitCode.failure }
      found.append(c)
    }
    let rows = reader.maximumRows(fields: loaded.network.input)
    return (Predictor(loaded, batchSize: batchSize, rows: rows), reader, found, header.count)
  }
}

/// `--format` of `mlpc predict`.
enum PredictionFormat: String, ExpressibleByArgument, CaseIterable {
  case csv, jsonl
}

/// `--delimiter`: one character other than a quote or a line break, or `\t` for a tab.
func validateDelimiter(_ text: String) throws {
  if CSVReader.delimiter(text) == nil {
    throw ValidationError(
      "--delimiter must be one character other than a quote or a line break, or '\\t' for a tab")
  }
}

/// `--decimal`: '.' or ','; a decimal comma needs another delimiter (as `data.decimal` does).
func validateDecimal(_ text: String, delimiter: String) throws {
  guard let point = CSVReader.decimalPoint(text) else {
    throw ValidationError("--decimal must be '.' or ','")
  }
  if point == UInt8(ascii: ","), CSVReader.delimiter(delimiter) == point {
    throw ValidationError(
      "--decimal ',' needs fields separated by another character: pass --delimiter ';' (or the one the file uses)"
    )
  }
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

/// Buffered output to standard output, or to a file written under a temporary name beside its
/// final one (`AtomicFile`) and put in place only when complete (a failed run leaves no file).
final class OutputSink {
  private let file: AtomicFile?
  private var buffer = Data()
  private var failure: FileWriteError?

  init(path: String?) throws {
    do { file = try path.map { p throws(FileWriteError) in try AtomicFile(p) } } catch {
      throw CleanError(error.description)
    }
  }

  func write(_ text: String) {
    buffer.append(contentsOf: text.utf8)
    if buffer.count >= 1 << 16 { drain() }
  }

  private func drain() {
    defer { buffer.removeAll(keepingCapacity: true) }
    guard let file else {
      FileHandle.standardOutput.write(buffer)
      return
    }
    guard failure == nil else { return }
    do { try file.write(buffer) } catch { failure = error }
  }

  func finish() throws {
    drain()
    if let failure { throw CleanError(failure.description) }
    do { try file?.commit() } catch { throw CleanError(error.description) }
  }

  func abandon() { file?.abandon() }
}

/// A JSON value of a prediction line: a text or a number.
enum JSONCell: Encodable {
  case text(String)
  case number(Double)

  func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .text(let t): try c.encode(t)
    case .number(let x): try c.encode(x)
    }
  }
}

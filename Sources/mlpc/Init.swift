// `mlpc init DATA.csv --target COL`: a first spec for a table, printed or written to --out, so
// that `mlpc init data.csv --target y > spec.yaml && mlpc run spec.yaml` works on a raw table.
// Unless --no-trial, the spec is first trained with its numbers standardized and piecewise-linear
// (validation split only) and the better is written (`SpecTrial`).

import ArgumentParser
import Foundation
import MLPCore

extension MLPCCommand {
  struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write a first spec for a CSV file (feature types inferred from the data).")

    @Argument(help: "The training CSV file.")
    var data: String

    @Option(help: "The column to predict.")
    var target: String

    @Option(help: "classification or regression (default: inferred from the target).")
    var task: Task?

    @Option(
      help: "Write the spec here instead of standard output (the data path is made relative to it)."
    )
    var out: String?

    @Option(help: "Field delimiter of the CSV file (one character, or '\\t' for a tab).")
    var delimiter = ","

    @Option(
      help:
        "The decimal point of the file's numbers: '.' or ',' (default: ',' when the fields are not ','-separated and a column's numbers can only have a decimal comma, else '.')."
    )
    var decimal: String?

    @Flag(
      help:
        "Write numbers standardized without training: skip the trial that trains the spec with numbers standardized and piecewise-linear and keeps the one with the lower validation loss."
    )
    var noTrial = false

    func validate() throws {
      try validateDelimiter(delimiter)
      if let decimal { try validateDecimal(decimal, delimiter: delimiter) }
      if let out, let conflict = outputConflict(out, inputs: [data]) {
        throw ValidationError(conflict)
      }
      if let out, FileManager.default.fileExists(atPath: out) {
        throw ValidationError("'\(safeText(out))' exists; mlpc init does not replace a spec")
      }
      // Before the trial's trainings, not after them.
      if let out {
        let parent = PathText.parent(out).isEmpty ? "." : PathText.parent(out)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isFolder),
          isFolder.boolValue
        else {
          throw ValidationError(
            "the folder '\(safeText(parent))' of --out does not exist; create it first")
        }
      }
    }

    func run() throws {
      var diagnostics: [Diagnostic] = []
      guard
        let reader = CSVReader(
          path: data, delimiter: CSVReader.delimiter(delimiter)!,
          decimalPoint: CSVReader.decimalPoint(decimal ?? ".")!, diagnostics: &diagnostics,
          reference: nil)
      else {
        printDiagnostics(diagnostics)
        throw ExitCode.failure
      }
      // The spec names the data relative to its own folder (as the checker resolves it).
      let folder =
        out.map {
          canonicalPath(
            PathText.parent($0).isEmpty ? "." : PathText.parent($0))
        }
        ?? canonicalPath(".")
      let file = canonicalPath(data)
      let dataPath = file.hasPrefix(folder + "/") ? String(file.dropFirst(folder.count + 1)) : file
      let name = PathText.lastComponent(PathText.removingExtension(data))
      // Without the trial only the standardized spec is needed (each text is a pass over the file).
      var texts: [String] = []
      do {
        for numbers in noTrial ? [.standardized] : SpecTemplate.Numbers.allCases {
          texts.append(
            try SpecTemplate.write(
              reader: reader, dataPath: dataPath, target: target, task: task, name: name,
              numbers: numbers, detectsDecimalComma: decimal == nil))
        }
      } catch {
        throw CleanError("cannot write a spec for '\(safeText(data))': \(error.description)")
      }
      var text = texts[0]
      if texts.count > 1, texts[1] != texts[0] {
        // The spec's folder resolves the data path, as when the spec is run from there.
        let file = folder + "/" + (out.map { PathText.lastComponent($0) } ?? "\(name).yaml")
        Console.err(
          "mlpc init: training the spec with numbers standardized and piecewise-linear to keep the one with the lower validation loss (--no-trial skips this)\n"
        )
        let labels = SpecTemplate.Numbers.allCases.map(\.rawValue)
        let (chosen, results) = SpecTrial.choose(texts, file: file) { i, result, seconds in
          let said =
            switch result {
            case .loss(let loss): "validation loss \(SpecTrial.formatted(loss))"
            case .failed(let why): safeText(why)
            }
          Console.err("  numbers \(labels[i]): \(said) (\(String(format: "%.1f", seconds)) s)\n")
        }
        text = SpecTrial.annotated(
          texts[chosen], chosen: chosen, results: results, labels: labels)
      }
      guard let out else {
        Console.out(text)
        return
      }
      do { try AtomicFile.write(Data(text.utf8), to: out) } catch {
        throw CleanError(error.description)
      }
      Console.out("wrote \(safeText(out)); next: mlpc run \(safeText(out))\n")
    }
  }
}

extension Task: ExpressibleByArgument {}

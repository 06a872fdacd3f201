// `mlpc init DATA.csv --target COL`: a first spec for a table, printed or written to --out, so
// that `mlpc init data.csv --target y > spec.yaml && mlpc run spec.yaml` works on a raw table.

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

    @Option(help: "Field delimiter of the CSV file.")
    var delimiter = ","

    func validate() throws {
      if delimiter.utf8.count != 1 { throw ValidationError("--delimiter must be one character") }
      if let out, let conflict = outputConflict(out, inputs: [data]) {
        throw ValidationError(conflict)
      }
      if let out, FileManager.default.fileExists(atPath: out) {
        throw ValidationError("'\(safeText(out))' exists; mlpc init does not replace a spec")
      }
    }

    func run() throws {
      var diagnostics: [Diagnostic] = []
      guard
        let reader = CSVReader(
          path: data, delimiter: delimiter.utf8.first!, diagnostics: &diagnostics, reference: nil)
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
      let text: String
      do {
        text = try SpecTemplate.write(
          reader: reader, dataPath: dataPath, target: target, task: task, name: name)
      } catch {
        throw CleanError("cannot write a spec for '\(safeText(data))': \(error.description)")
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

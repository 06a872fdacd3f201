// `mlpc export MODEL_OR_RUN --format onnx`: the trained model as `model.onnx` beside it (or at
// --out), for ONNX Runtime and the other runtimes that read ONNX. Written to a temporary file and
// renamed into place, so a failed export leaves no partial file.

import ArgumentParser
import Foundation
import MLPCore

enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
  case onnx
}

extension MLPCCommand {
  struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write a trained model in another format (ONNX).")

    @Argument(help: "A model file or a run directory.")
    var model: String

    @Option(help: "Format: onnx.")
    var format: ExportFormat = .onnx

    @Option(help: "Output file (default: model.onnx in the run directory, or beside the model).")
    var out: String?

    @OptionGroup var tracking: TrackingArguments

    func run() throws {
      let loaded: Model
      do { loaded = try Model.load(model) } catch { throw CleanError(error.description) }
      let bytes: Data
      do { bytes = try ONNXExport.encode(loaded) } catch { throw CleanError(error.description) }
      var isDirectory: ObjCBool = false
      let directory =
        FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory)
        && isDirectory.boolValue
      let path =
        out
        ?? (directory
          ? PathText.join(model, "model.onnx")
          : PathText.removingExtension(model) + ".onnx")
      if let conflict = outputConflict(path, inputs: [model], ownFile: "model.onnx") {
        throw ValidationError(conflict)
      }
      do { try AtomicFile.write(bytes, to: path) } catch { throw CleanError(error.description) }
      let inputs =
        loaded.description.transforms == nil
        ? "input 'input'" : "one input per feature column, named as the column"
      Console.out(
        "wrote \(safeText(path)) (ONNX opset \(ONNXExport.opset), \(bytes.count) bytes; \(inputs), output '\(loaded.description.classes == nil ? "targets" : "probabilities")')\n"
      )
      // A run tracked in MLflow gets its export as an artifact too.
      if directory, let options = try tracking.options(experiment: loaded.description.name),
        MLflowTracker.upload(path, as: "model.onnx", toRunIn: model, options: options) == true
      {
        Console.out("uploaded model.onnx to MLflow run at \(options.server.uri)\n")
      }
    }
  }
}

// The `mlpc` command line: parses arguments, calls MLPCore, prints, and picks the exit code.
// Exit codes: 0 success, 1 the spec or run failed, 2 usage errors.

import ArgumentParser
import Foundation
import MLPCore
import Synchronization

@main
struct MLPCCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mlpc",
    abstract: "Check, plan and train multilayer perceptrons described in YAML specs.",
    version: mlpcVersion,
    subcommands: [
      Check.self, Plan.self, Run.self, Predict.self, Evaluate.self, CurvesCommand.self,
      Sweep.self, Export.self, Gradcheck.self, Bench.self, Schema.self, Init.self,
    ] + serveCommands)

  /// The most command-line arguments taken: the argument parser's time grows with the square of
  /// their number, so ten thousand `--set` flags would take minutes before anything is read.
  static let maximumArguments = 2048

  static func main() {
    do {
      let count = CommandLine.arguments.count - 1
      if count > maximumArguments {
        throw ValidationError(
          "\(count) command-line arguments; at most \(maximumArguments) (put many settings in the spec file, not in --set flags)"
        )
      }
      if let unknown = unknownCommand(CommandLine.arguments.dropFirst()) { throw unknown }
      var command = try parseAsRoot()
      // Commands that run kernels refuse a kernel setting they cannot honour.
      let computes: [any ParsableCommand.Type] =
        [
          Run.self, Sweep.self, Bench.self, Predict.self, Evaluate.self, Gradcheck.self,
        ] + serveCommands
      if computes.contains(where: { type(of: command) == $0 }),
        let problem = GemmBackend.environmentProblem ?? KernelISA.environmentProblem
          ?? WorkerPool.environmentProblem
      {
        throw ValidationError(problem)
      }
      // Training commands refuse to run as one of several ranks without MPI.
      if [Run.self, Sweep.self].contains(where: { type(of: command) == $0 }),
        let problem = World.launchProblem
      {
        throw ValidationError(problem)
      }
      try command.run()
      Report.shared.flush()
    } catch {
      let code = exitCode(for: error)
      if code == .validationFailure {
        FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
        Foundation.exit(2)
      }
      if let error = error as? CleanError { reportError(error.description, help: error.help) }
      Report.shared.flush()
      if error is CleanError { Foundation.exit(1) }
      exit(withError: error)
    }
  }
}

/// With `--format json`, everything a command reports (diagnostics of its spec, then any error
/// after checking) goes into one document, written to standard error when the command ends.
final class Report: Sendable {
  static let shared = Report()
  private struct State {
    var collecting = false
    var files: [(path: String, valid: Bool)] = []
    var diagnostics: [Diagnostic] = []
    var errors: [(message: String, help: String?)] = []
  }
  private let state = Mutex(State())

  var isCollecting: Bool { state.withLock { $0.collecting } }

  func add(_ result: CheckResult, file: String) {
    state.withLock {
      $0.collecting = true
      $0.files.append((file, result.spec != nil))
      $0.diagnostics += result.diagnostics
    }
  }

  func add(error message: String, help: String?) {
    state.withLock { $0.errors.append((message, help)) }
  }

  func flush() {
    let s = state.withLock { s in
      defer { s = State() }
      return s
    }
    guard s.collecting else { return }
    Console.err(
      DiagnosticRenderer(colored: false).json(s.diagnostics, files: s.files, errors: s.errors)
        + "\n")
  }
}

/// Reports an error that happened after checking: into the JSON document, or as text.
func reportError(_ unsafeMessage: String, help unsafeHelp: String? = nil) {
  // Messages quote names, paths and metadata from files: shown escaped and bounded.
  let (message, help) = (safeText(unsafeMessage), unsafeHelp.map { safeText($0) })
  if Report.shared.isCollecting {
    Report.shared.add(error: message, help: help)
  } else {
    // Under mpirun every rank may report the same failure: the others' lines name their rank.
    let rank = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_RANK"].flatMap { Int($0) }
    let prefix = rank.map { $0 > 0 ? "rank \($0): " : "" } ?? ""
    Console.err("\(prefix)error: \(message)\n" + (help.map { "  help: \($0)\n" } ?? ""))
  }
}

/// Options shared by commands that print diagnostics.
struct OutputOptions: ParsableArguments {
  @Option(help: "Diagnostic format: text, json or github.")
  var format: DiagnosticFormat = .text

  @Flag(help: "Colour text output (default: only on a terminal, never with NO_COLOR).")
  var color = false

  @Flag(help: "Never colour text output.")
  var noColor = false

  func useColor(fileDescriptor: Int32) -> Bool {
    if noColor { return false }
    if color { return true }
    if let value = ProcessInfo.processInfo.environment["NO_COLOR"], !value.isEmpty { return false }
    return isatty(fileDescriptor) == 1
  }
}

extension DiagnosticFormat: ExpressibleByArgument {}

/// Writes text to standard output or standard error without buffering surprises.
enum Console {
  static func out(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
  static func err(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}

/// Checks one spec and prints its diagnostics to standard error (with `--format json`, into the
/// command's one JSON document); nil on errors.
func loadChecked(_ path: String, options: OutputOptions, overrides: [SpecOverride] = [])
  -> CheckedSpec?
{
  reportCheck(
    Checker.check(file: path, overrides: overrides), file: path, options: options,
    overrides: overrides)
}

/// Other tools' words for mlpc's commands.
let commandSynonyms = [
  "train": "run", "fit": "run", "validate": "check", "lint": "check", "test": "evaluate",
  "eval": "evaluate", "score": "evaluate", "infer": "predict", "inference": "predict",
  "search": "sweep", "tune": "sweep", "grid": "sweep", "onnx": "export", "new": "init",
]

/// A usage error for a first argument that is not a command (nor an option), naming the
/// nearest command; nil when the arguments start with a command or an option.
func unknownCommand(_ arguments: ArraySlice<String>) -> ValidationError? {
  guard let first = arguments.first, !first.hasPrefix("-"), first != "help" else { return nil }
  let names = MLPCCommand.configuration.subcommands.compactMap {
    // _typeName, not String(describing:): that looks for a description conformance through
    // every conformance record in the process, milliseconds of every command's start.
    $0.configuration.commandName ?? _typeName($0, qualified: false).lowercased()
  }
  guard !names.contains(first) else { return nil }
  let shown = safeText(first, limit: 40)
  let hint =
    commandSynonyms[first.lowercased()].map { "'mlpc \($0)' is the command for that" }
    ?? nearestName(first, in: names).map { "did you mean 'mlpc \($0)'?" }
  return ValidationError(
    "'\(shown)' is not an mlpc command" + (hint.map { "; \($0)" } ?? "")
      + "\ncommands: " + names.joined(separator: ", "))
}

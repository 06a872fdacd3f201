// The `mlpc` command line: parses arguments, calls MLPCore, prints, and picks the exit code.
// Exit codes: 0 success, 1 the spec or run failed, 2 usage errors.

import ArgumentParser
import Foundation
import MLPCore

@main
struct MLPCCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mlpc",
    abstract: "Check, plan and train multilayer perceptrons described in YAML specs.",
    version: "0.1.0",
    subcommands: [Check.self, Plan.self, Run.self, Gradcheck.self, Bench.self, Schema.self])

  static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      let code = exitCode(for: error)
      if code == .validationFailure {
        FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
        Foundation.exit(2)
      }
      exit(withError: error)
    }
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

/// Checks one spec and prints its diagnostics to standard error in text form; nil on errors.
func loadChecked(_ path: String, options: OutputOptions) -> CheckedSpec? {
  let result = Checker.check(file: path)
  let renderer = DiagnosticRenderer(colored: options.useColor(fileDescriptor: 2))
  for d in result.diagnostics {
    switch options.format {
    case .text: Console.err(renderer.text(d))
    case .github: Console.err(renderer.github(d) + "\n")
    case .json: Console.err(renderer.json([d], files: [path]) + "\n")
    }
  }
  return result.spec
}

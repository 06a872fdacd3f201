// `mlpc check SPEC...`: every diagnostic of every spec, exit 1 on any error (or warning with
// --strict).

import ArgumentParser
import MLPCore

extension MLPCCommand {
  struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check specs (and their data) and report every problem with its location.")

    @Argument(help: "Spec files to check.")
    var specs: [String]

    @OptionGroup var output: OutputOptions

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    @Option(
      name: .customLong("set"),
      help: ArgumentHelp(
        "Check with this override, as `mlpc run --set` applies it: PATH=VALUE (repeatable).",
        valueName: "path=value"))
    var overrides: [String] = []

    func run() throws {
      var all: [Diagnostic] = []
      var files: [(path: String, valid: Bool)] = []
      let overrides = SpecOverride.list(overrides)
      for spec in specs {
        let result = Checker.check(file: spec, overrides: overrides)
        all += result.diagnostics
        files.append((spec, result.spec != nil))
      }
      let sources = SourceLines(
        overrides: Dictionary(uniqueKeysWithValues: overrides.map { ($0.sourceName, $0.text) }))
      let renderer = DiagnosticRenderer(
        colored: output.useColor(fileDescriptor: 1), sources: sources)
      switch output.format {
      case .text:
        for d in all { Console.out(renderer.text(d)) }
        Console.out(summary(all) + "\n")
      case .github:
        // Workflow commands, then the summary as a plain log line (success says so too).
        for d in all { Console.out(renderer.github(d) + "\n") }
        Console.out(summary(all) + "\n")
      case .json:
        Console.out(renderer.json(all, files: files) + "\n")
      }
      let failed = all.hasErrors || (strict && all.contains { $0.severity >= .warning })
      if failed { throw ExitCode.failure }
    }

    private func summary(_ all: [Diagnostic]) -> String {
      let errors = all.count { $0.severity == .error }
      let warnings = all.count { $0.severity == .warning }
      let notes = all.count { $0.severity == .note }
      let count = { (n: Int, word: String) in "\(n) \(word)\(n == 1 ? "" : "s")" }
      let checked = count(specs.count, "spec")
      let noted = notes > 0 ? " (\(count(notes, "note")))" : ""
      if errors + warnings == 0 { return "\(checked) checked, no problems\(noted)" }
      return "\(checked) checked: \(count(errors, "error")), \(count(warnings, "warning"))\(noted)"
    }
  }
}

// `mlpc schema`: the JSON Schema of spec format v1, for editors and CI validators; with
// `--format markdown`, the key tables of docs/spec.md.

import ArgumentParser
import MLPCore

extension MLPCCommand {
  struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print the JSON Schema of spec format v1 (or its key tables as Markdown).")

    enum Format: String, ExpressibleByArgument, CaseIterable {
      case json, markdown
    }

    @Option(help: "json (JSON Schema) or markdown (the key tables of docs/spec.md).")
    var format: Format = .json

    func run() throws {
      Console.out((format == .json ? SpecSchema.json : SpecSchema.markdown) + "\n")
    }
  }
}

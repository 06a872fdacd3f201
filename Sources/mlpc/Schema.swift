// `mlpc schema`: the JSON Schema of spec format v1, for editors and CI validators.

import ArgumentParser
import MLPCore

extension MLPCCommand {
  struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print the JSON Schema of spec format v1.")

    func run() throws { Console.out(SpecSchema.json + "\n") }
  }
}

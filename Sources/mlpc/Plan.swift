// `mlpc plan SPEC`: the compiled plan's layer table, memory, FLOPs and ops.

import ArgumentParser
import MLPCore

extension MLPCCommand {
  struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show the execution plan: shapes, parameters, memory, FLOPs and ops.")

    @Argument(help: "The spec file.")
    var spec: String

    @Option(parsing: .unconditional, help: "Plan for this batch size instead of the spec's.")
    var batchSize: Int?

    @OptionGroup var output: OutputOptions

    func validate() throws {
      if let batchSize, batchSize < 1 || batchSize > maximumWidth {
        throw ValidationError("--batch-size must be between 1 and \(maximumWidth)")
      }
    }

    func run() throws {
      guard let checked = loadChecked(spec, options: output) else { throw ExitCode.failure }
      let plan = PlanCompiler.compile(checked, batchSize: batchSize)
      let samples = checked.data.train.count
      Console.out(
        output.format == .json
          ? JSONRecord.document(plan.report(samples: samples)) + "\n"
          : plan.textDescription(samples: samples, features: checked.data.encoder))
    }
  }
}

// `mlpc gradcheck SPEC`: the plan's gradients against double-precision central differences.

import ArgumentParser
import Foundation
import MLPCore

extension MLPCCommand {
  struct Gradcheck: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Compare backpropagated gradients with finite differences for every parameter tensor.")

    @Argument(help: "The spec file.")
    var spec: String

    @Option(parsing: .unconditional, help: "Samples in the batch checked.")
    var rows = 8

    @Option(parsing: .unconditional, help: "Largest relative error accepted.")
    var tolerance = 1e-3

    @OptionGroup var output: OutputOptions

    func validate() throws {
      if rows < 1 { throw ValidationError("--rows must be at least 1") }
      if !(tolerance > 0) { throw ValidationError("--tolerance must be greater than 0") }
    }

    func run() throws {
      guard let checked = loadChecked(spec, options: output) else { throw ExitCode.failure }
      let plan = PlanCompiler.compile(checked, batchSize: min(rows, checked.batchSize))
      let executor = Executor(plan: plan, seed: checked.training.seed)
      let results = GradientCheck.run(executor, data: checked.data.train, rows: rows)
      let width = results.map(\.tensor.count).max() ?? 6
      var failed = false
      for r in results {
        let ok = r.worstRelativeError <= tolerance
        failed = failed || !ok
        let name = r.tensor.padding(toLength: width, withPad: " ", startingAt: 0)
        Console.out(
          "\(name)  worst relative error \(String(format: "%.2e", r.worstRelativeError))  (\(r.checkedElements) of \(r.elements) elements\(r.skippedAtKinks > 0 ? ", \(r.skippedAtKinks) at relu kinks skipped" : ""))  \(ok ? "ok" : "FAILED")\n"
        )
      }
      Console.out(
        failed
          ? "gradient check failed (tolerance \(tolerance))\n"
          : "gradient check passed (tolerance \(tolerance))\n")
      if failed { throw ExitCode.failure }
    }
  }
}

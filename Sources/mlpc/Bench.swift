import ArgumentParser
import MLPCore

extension MLPCCommand {
  struct Bench: ParsableCommand {
    func run() throws { throw ExitCode.failure }
  }
}

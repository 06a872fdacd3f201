import ArgumentParser
import MLPCore

extension MLPCCommand {
  struct Plan: ParsableCommand {
    func run() throws { throw ExitCode.failure }
  }
}

import ArgumentParser
import MLPCore

extension MLPCCommand {
  struct Run: ParsableCommand {
    func run() throws { throw ExitCode.failure }
  }
}

import ArgumentParser
import MLPCore

extension MLPCCommand {
  struct Gradcheck: ParsableCommand {
    func run() throws { throw ExitCode.failure }
  }
}

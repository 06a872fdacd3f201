// Runs the built `mlpc` binary (or any program) and captures its output and exit status.

import Foundation
import Testing

/// Output of a finished process.
public struct ProcessResult: Sendable {
  public var status: Int32
  public var stdout: String
  public var stderr: String
}

/// Runs programs for end-to-end tests.
public enum CommandRunner {
  /// The `mlpc` binary next to the test bundle (same build configuration).
  public static var mlpc: String {
    let candidates = [
      URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("mlpc").path,
      Bundle.main.bundleURL.appendingPathComponent("mlpc").path,
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
  }

  /// Runs `mlpc` with `arguments` in the repository root.
  public static func mlpc(
    _ arguments: [String], environment: [String: String] = [:], in directory: String? = nil
  ) throws -> ProcessResult {
    try run(mlpc, arguments, environment: environment, in: directory)
  }

  /// Runs `executable` with `arguments` in `directory` (default: the repository root), without
  /// a terminal.
  public static func run(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:],
    in directory: String? = nil
  ) throws
    -> ProcessResult
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory ?? Repository.root)
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    process.environment = env
    // stderr goes to a file so a full pipe can never block the child while stdout is read.
    let errPath = NSTemporaryDirectory() + "mlpc-stderr-" + UUID().uuidString
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errPath) }
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle(forWritingAtPath: errPath)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let errData = FileManager.default.contents(atPath: errPath) ?? Data()
    return ProcessResult(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }

  /// python3, when it can import every module in `modules`; nil otherwise. Tests that need it
  /// skip on a developer's machine without it and fail in CI (where `CI` is set), which installs it.
  public static func pythonWith(_ modules: [String]) -> String? {
    let found = which("python3").flatMap { python in
      let probe = try? run(python, ["-c", modules.map { "import \($0)" }.joined(separator: "; ")])
      return probe?.status == 0 ? python : nil
    }
    if found == nil, ProcessInfo.processInfo.environment["CI"] != nil {
      Issue.record("python3 with \(modules.joined(separator: ", ")) is needed in CI")
    }
    return found
  }

  /// Full path of `name` on PATH, if any.
  public static func which(_ name: String) -> String? {
    let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
    return paths.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
  }
}

// A run directory that never mixes two runs: a run takes a lock beside the directory (a second
// run into it fails at once), writes everything into a staging directory next to it, and moves
// the staging directory into place when it ends, completed, interrupted or diverged. An existing
// run directory is replaced only when asked (`--force`) or continued (`--resume`, which starts
// from a copy of it). A run killed outright leaves only its hidden staging directory behind;
// `--resume` finds it (whoever holds the lock owns every staging directory beside it, so one left
// there belongs to a dead run) and continues from it when its checkpoints go further.

import Foundation

/// Why a run directory cannot be used.
public struct RunDirectoryError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

/// One run's claim on its directory.
public final class RunDirectory {
  /// What to do when the directory exists already.
  public enum Existing: Sendable {
    case refuse, replace, resume
  }

  /// Where the run ends up.
  public let path: String
  /// Where it is written until it ends.
  public let staging: String
  private let lockPath: String
  private var lock: Int32
  /// The staging directory of a killed run that `--resume` continued from, if any.
  public private(set) var recovered: String?

  public init(_ path: String, existing: Existing) throws(RunDirectoryError) {
    let url = URL(fileURLWithPath: path).standardized
    let parent = url.deletingLastPathComponent().path
    let name = url.lastPathComponent
    self.path = path
    staging = parent + "/.\(name).staging-\(getpid())"
    lockPath = parent + "/.\(name).lock"
    do {
      try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    } catch {
      throw RunDirectoryError(
        description: "cannot create '\(parent)': \(causeInWords(error))")
    }
    lock = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
    guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
      if lock >= 0 { close(lock) }
      throw RunDirectoryError(
        description:
          "another mlpc run is writing '\(path)' (lock '\(lockPath)'); wait for it or use another --out"
      )
    }
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
    do {
      switch (exists, existing) {
      case (true, .refuse):
        throw RunDirectoryError(
          description:
            "run directory '\(path)' exists; use --force to replace it or --resume '\(path)' to continue it"
        )
      case (true, _) where !isDirectory.boolValue:
        throw RunDirectoryError(description: "'\(path)' exists and is not a directory")
      case (true, .replace) where !Self.isReplaceable(path):
        throw RunDirectoryError(
          description:
            "'\(path)' is not a run directory of mlpc (no config.json) and not empty; --force replaces only runs: remove it yourself or give another --out"
        )
      case (_, .resume):
        try? FileManager.default.removeItem(atPath: staging)
        // A killed run's staging directory, when it got further than the run directory.
        let committed = exists ? Self.latestCheckpoint(in: path) : nil
        if let left = Self.leftStaging(parent: parent, name: name, excluding: staging),
          let latest = Self.latestCheckpoint(in: left), committed.map({ latest > $0 }) ?? true
        {
          try FileManager.default.moveItem(atPath: left, toPath: staging)
          recovered = left
        } else if exists, FileManager.default.fileExists(atPath: path + "/config.json") {
          try FileManager.default.copyItem(atPath: path, toPath: staging)
        } else if exists {
          throw RunDirectoryError(
            description: "'\(path)' is not a run directory of this mlpc (no config.json)")
        } else {
          throw RunDirectoryError(description: "run directory '\(path)' does not exist")
        }
      default:
        try? FileManager.default.removeItem(atPath: staging)
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
      }
    } catch let error as RunDirectoryError {
      release()
      throw error
    } catch {
      release()
      throw RunDirectoryError(
        description: "cannot prepare '\(staging)': \(causeInWords(error))")
    }
  }

  deinit { release() }

  /// Whether `--force` may replace the directory `path`: a run mlpc wrote (it has config.json),
  /// or an empty directory.
  public static func isReplaceable(_ path: String) -> Bool {
    FileManager.default.fileExists(atPath: path + "/config.json")
      || ((try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty ?? false)
  }

  /// The staging directory left by a killed run of `name` (the one with the latest checkpoint).
  private static func leftStaging(parent: String, name: String, excluding own: String) -> String? {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
    return entries.filter { $0.hasPrefix(".\(name).staging-") }.map { parent + "/" + $0 }
      .filter { $0 != own && latestCheckpoint(in: $0) != nil }
      .max { latestCheckpoint(in: $0)! < latestCheckpoint(in: $1)! }
  }

  /// The name of the latest checkpoint in a run or staging directory
  /// (`epoch-000012-step-000000.safetensors` names sort in training order).
  static func latestCheckpoint(in run: String) -> String? {
    let names =
      (try? FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints")) ?? []
    guard FileManager.default.fileExists(atPath: run + "/config.json") else { return nil }
    return names.filter { $0.hasPrefix("epoch-") && $0.hasSuffix(".safetensors") }.max()
  }

  /// `base` if it does not exist, else the first free `base-2`, `base-3`, … (the default run
  /// directory of a spec, so that a second run never lands on the first).
  public static func firstFree(_ base: String) -> String {
    var candidate = base
    var n = 1
    while FileManager.default.fileExists(atPath: candidate) {
      n += 1
      candidate = "\(base)-\(n)"
    }
    return candidate
  }

  /// A file's path in the staging directory.
  public func file(_ name: String) -> String { staging + "/" + name }

  /// Moves the staging directory into place, replacing the previous directory if there is one.
  public func commit() throws(RunDirectoryError) {
    let old = staging.replacingOccurrences(of: ".staging-", with: ".replaced-")
    let fm = FileManager.default
    do {
      if fm.fileExists(atPath: path) { try fm.moveItem(atPath: path, toPath: old) }
      try fm.moveItem(atPath: staging, toPath: path)
      try? fm.removeItem(atPath: old)
    } catch {
      throw RunDirectoryError(
        description: "cannot move '\(staging)' to '\(path)': \(causeInWords(error))")
    }
    release()
  }

  /// Drops the staging directory (nothing of a previous run is touched).
  public func abandon() {
    try? FileManager.default.removeItem(atPath: staging)
    release()
  }

  private func release() {
    guard lock >= 0 else { return }
    unlink(lockPath)
    close(lock)
    lock = -1
  }
}

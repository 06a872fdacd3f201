// A run directory that never mixes two runs: a run takes a lock beside the directory (a second
// run into it fails at once), writes everything into a staging directory next to it, and moves
// the staging directory into place when it ends, completed, interrupted or diverged. An existing
// run directory is replaced only when asked (`--force`) or continued (`--resume`, which starts
// from a copy of it). A run killed outright leaves only its hidden staging directory behind;
// `--resume` finds it (whoever holds the lock owns every staging directory beside it, so one left
// there belongs to a dead run) and continues from it when it is the same run (its config.json
// holds the run's identity) and its checkpoints go further; any other run of that directory
// removes it.
//
// The lock is `flock` on a file beside the directory, in its canonical folder (symlinks and `..`
// resolved, so every spelling of one directory takes one lock), held by an open descriptor: a
// process that did not acquire it cannot release it, and a holder that dies releases it. The
// holder writes its PID into the file for the message others get.

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

  /// Where the run ends up, as given.
  public let path: String
  /// The same place with its folder resolved: where the run is moved to.
  let target: String
  /// Where it is written until it ends.
  public let staging: String
  private let lockPath: String
  private var lock: Int32 = -1
  /// The staging directory of a killed run that `--resume` continued from, if any.
  public private(set) var recovered: String?

  /// The longest directory name a run may have: its staging directory's name
  /// (`.NAME.staging-PID`) must fit the file system's 255 bytes.
  public static let maximumNameBytes = 229

  public init(_ path: String, existing: Existing) throws(RunDirectoryError) {
    func fail(_ message: String) -> RunDirectoryError { RunDirectoryError(description: message) }
    let shown = safeText(path, limit: 300)
    self.path = path
    // The folder as given (created if needed), then resolved.
    var trimmed = path
    while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
    var folder = PathText.parent(trimmed)
    var name = PathText.lastComponent(trimmed)
    if folder.isEmpty { folder = "." }
    if name == "." || name == ".." || name == "/" {
      guard let full = realpath(trimmed, nil) else {
        throw fail("'\(shown)' cannot be a run directory")
      }
      let resolved = String(cString: full)
      free(full)
      (folder, name) =
        (PathText.parent(resolved), PathText.lastComponent(resolved))
    }
    guard name.utf8.count <= Self.maximumNameBytes else {
      throw fail(
        "the run directory's name is \(name.utf8.count) bytes; at most \(Self.maximumNameBytes) fit (mlpc stages the run under a longer name beside it)"
      )
    }
    let code = createFolders(folder)
    guard code == 0 else {
      throw fail("cannot create '\(safeText(folder, limit: 300))': \(FileWriteError.words(code))")
    }
    guard let resolved = realpath(folder, nil) else {
      throw fail(
        "cannot use '\(safeText(folder, limit: 300))': \(String(cString: strerror(errno)))")
    }
    let parent = String(cString: resolved)
    free(resolved)
    target = parent + "/" + name
    staging = parent + "/.\(name).staging-\(getpid())"
    lockPath = parent + "/.\(name).lock"
    lock = try Self.acquire(lockPath, for: shown)
    do {
      try prepare(existing, parent: parent, name: name, shown: shown)
    } catch let error as RunDirectoryError {
      release()
      throw error
    } catch {
      release()
      throw fail("cannot prepare '\(safeText(staging, limit: 300))': \(causeInWords(error))")
    }
  }

  /// Takes the lock at `lockPath`: its descriptor, or why not (held by PID N, not writable,
  /// name too long) in words.
  private static func acquire(_ lockPath: String, for shown: String) throws(RunDirectoryError)
    -> Int32
  {
    // A holder removes the file just before it lets go; a lock taken on a removed file is taken
    // again on the new one.
    for _ in 0..<8 {
      let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0o644)
      guard fd >= 0 else {
        let code = errno
        throw RunDirectoryError(
          description:
            "cannot lock '\(shown)': cannot create '\(safeText(lockPath, limit: 300))': "
            + (code == ELOOP ? "it is a symbolic link" : FileWriteError.words(code)))
      }
      guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
        let code = errno
        var text = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &text, 31, 0)
        close(fd)
        if code == EWOULDBLOCK {
          let pid = n > 0 ? Int32(String(decoding: text[0..<n], as: UTF8.self)) : nil
          throw RunDirectoryError(
            description:
              "another mlpc run is writing '\(shown)'\(pid.map { " (PID \($0))" } ?? ""); wait for it or use another --out"
          )
        }
        throw RunDirectoryError(
          description: "cannot lock '\(shown)': \(String(cString: strerror(code)))")
      }
      var held = stat()
      var named = stat()
      guard fstat(fd, &held) == 0, lstat(lockPath, &named) == 0, held.st_ino == named.st_ino,
        held.st_dev == named.st_dev
      else {
        close(fd)
        continue
      }
      let pid = Array("\(getpid())".utf8)
      _ = ftruncate(fd, 0)
      _ = pwrite(fd, pid, pid.count, 0)
      return fd
    }
    throw RunDirectoryError(description: "cannot lock '\(shown)': its lock keeps changing")
  }

  /// Makes the staging directory for `existing`, with the lock held.
  private func prepare(_ existing: Existing, parent: String, name: String, shown: String) throws {
    func fail(_ message: String) -> RunDirectoryError { RunDirectoryError(description: message) }
    let fm = FileManager.default
    var info = stat()
    let exists = lstat(target, &info) == 0
    let isDirectory = exists && (info.st_mode & S_IFMT) == S_IFDIR
    // Every other staging or replaced directory of this name belongs to a dead run.
    let left = Self.leftBehind(parent: parent, name: name).filter { $0 != staging }
    switch (exists, existing) {
    case (true, .refuse):
      throw fail(
        "run directory '\(shown)' exists; use --force to replace it or --resume '\(shown)' to continue it"
      )
    case (true, _) where !isDirectory:
      throw fail(
        "'\(shown)' exists and is not a directory"
          + ((info.st_mode & S_IFMT) == S_IFLNK ? " (a symbolic link)" : ""))
    case (true, .replace) where !Self.isReplaceable(target):
      throw fail(
        "'\(shown)' is not a run directory of mlpc (no config.json) and not empty; --force replaces only runs: remove it yourself or give another --out"
      )
    case (false, .refuse):
      if let killed = left.first(where: { Self.latestCheckpoint(in: $0) != nil }) {
        throw fail(
          "a killed run into '\(shown)' left its epochs in '\(safeText(killed, limit: 300))'; use --resume '\(shown)' to continue it or --force to discard it"
        )
      }
    case (_, .resume):
      let committed = exists ? Self.latestCheckpoint(in: target) : nil
      // A killed run's staging directory: of this run, and further than the run directory.
      let identity = exists ? Self.runID(in: target) : nil
      let candidates = left.filter {
        Self.latestCheckpoint(in: $0) != nil && (!exists || Self.runID(in: $0) == identity)
      }
      let best = candidates.max { Self.latestCheckpoint(in: $0)! < Self.latestCheckpoint(in: $1)! }
      let source: String
      if let best, let latest = Self.latestCheckpoint(in: best),
        committed.map({ latest > $0 }) ?? true
      {
        source = best
      } else if exists, fm.fileExists(atPath: target + "/config.json") {
        source = target
      } else if exists {
        throw fail("'\(shown)' is not a run directory of this mlpc (no config.json)")
      } else {
        throw fail("run directory '\(shown)' does not exist")
      }
      if let link = Self.firstNonRegular(in: source) {
        throw fail(
          "'\(safeText(link, limit: 300))' is a symbolic link or special file; mlpc reads and writes only regular files in a run directory, so the run is left as it was"
        )
      }
      if source == target {
        try fm.copyItem(atPath: target, toPath: staging)
      } else {
        try fm.moveItem(atPath: source, toPath: staging)
        recovered = source
      }
      for other in left where other != source { try? fm.removeItem(atPath: other) }
      return
    default:
      break
    }
    for other in left { try? fm.removeItem(atPath: other) }
    guard mkdir(staging, 0o755) == 0 else {
      throw fail(FileWriteError(staging, errno: errno).description)
    }
  }

  deinit { release() }

  /// Whether `--force` may replace the directory `path`: a run mlpc wrote (it has config.json),
  /// or an empty directory.
  public static func isReplaceable(_ path: String) -> Bool {
    FileManager.default.fileExists(atPath: path + "/config.json")
      || ((try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty ?? false)
  }

  /// The staging and replaced directories of `name` in `parent`.
  private static func leftBehind(parent: String, name: String) -> [String] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
    return entries.filter {
      $0.hasPrefix(".\(name).staging-") || $0.hasPrefix(".\(name).replaced-")
    }.map { parent + "/" + $0 }.sorted()
  }

  /// The run's identity recorded in its config.json (`run_id`), if any.
  static func runID(in run: String) -> String? {
    guard
      let data = try? RegularFile.contents(
        run + "/config.json", followingLinks: false, limit: 1 << 26
      ).get(),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return nil }
    return object["run_id"] as? String
  }

  /// The first entry under `run` that is neither a regular file nor a directory (a symbolic
  /// link, a FIFO, a device), if any.
  static func firstNonRegular(in run: String) -> String? {
    var info = stat()
    guard lstat(run, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return run }
    let names = (try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []
    for name in names.sorted() {
      let path = run + "/" + name
      guard lstat(path, &info) == 0 else { return path }
      switch info.st_mode & S_IFMT {
      case S_IFREG: continue
      case S_IFDIR: if let bad = firstNonRegular(in: path) { return bad }
      default: return path
      }
    }
    return nil
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
    var info = stat()
    do {
      if lstat(target, &info) == 0 { try fm.moveItem(atPath: target, toPath: old) }
      try fm.moveItem(atPath: staging, toPath: target)
      try? fm.removeItem(atPath: old)
    } catch {
      throw RunDirectoryError(
        description:
          "cannot move '\(safeText(staging, limit: 300))' to '\(safeText(path, limit: 300))': \(causeInWords(error))"
      )
    }
    release()
  }

  /// Drops the staging directory (nothing of a previous run is touched).
  public func abandon() {
    try? FileManager.default.removeItem(atPath: staging)
    release()
  }

  /// Removes the lock file while holding it, then lets go (only the holder gets here).
  private func release() {
    guard lock >= 0 else { return }
    unlink(lockPath)
    close(lock)
    lock = -1
  }
}

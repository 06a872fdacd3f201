// Every file mlpc writes goes through `AtomicFile`: the bytes go to a temporary created with
// O_CREAT|O_EXCL|O_NOFOLLOW in the destination's folder (so a planted symlink or a file of the
// same name is never written through or truncated), and the temporary is renamed over the
// destination only when complete (rename(2) replaces a link itself, never its target; readers see
// the old file or the new one, never half of one). A failure (a full disk, a folder that is not
// writable) removes the temporary and says why in words. A temporary of a killed process (its PID
// no longer runs) is removed by the next write to the same destination.

import Foundation

/// Why a file could not be written.
public struct FileWriteError: Error, CustomStringConvertible, Sendable {
  public var description: String
  init(_ path: String, errno code: Int32) {
    description = "cannot write '\(safeText(path, limit: 300))': " + Self.words(code)
  }

  /// The cause in words, with the remedy for the common ones.
  static func words(_ code: Int32) -> String {
    let cause = String(cString: strerror(code))
    return switch code {
    case ENOSPC, EDQUOT: cause + " (free some space and run again)"
    case ENAMETOOLONG: cause + " (the file name is longer than the file system allows)"
    default: cause
    }
  }
}

/// A file being written under a temporary name beside `path`.
public final class AtomicFile {
  public let path: String
  let temporary: String
  private var descriptor: Int32

  /// Creates the temporary (removing those of killed writers of `path`).
  public init(_ path: String) throws(FileWriteError) {
    self.path = path
    let parent = PathText.parent(path)
    let folder = parent.isEmpty ? "." : parent
    let prefix = ".\(PathText.lastComponent(path)).partial-"
    Self.removeStale(in: folder, prefix: prefix)
    temporary = folder + "/" + prefix + "\(getpid())-\(Self.counter.next())"
    descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw FileWriteError(path, errno: errno) }
  }

  deinit { abandon() }

  /// Appends `bytes` to the temporary.
  public func write(_ bytes: some DataProtocol) throws(FileWriteError) {
    let data = Data(bytes)
    var done = 0
    var failure: Int32 = 0
    data.withUnsafeBytes { raw in
      while done < raw.count {
        let n = Glibc.write(descriptor, raw.baseAddress! + done, raw.count - done)
        if n < 0 {
          if errno == EINTR { continue }
          failure = errno
          return
        }
        done += n
      }
    }
    if failure != 0 {
      let error = FileWriteError(path, errno: failure)
      abandon()
      throw error
    }
  }

  /// Puts the complete file in place of `path`.
  public func commit() throws(FileWriteError) {
    guard descriptor >= 0 else { throw FileWriteError(path, errno: EBADF) }
    // close(2) reports a write-back failure (NFS, quotas) that write(2) did not.
    let closed = close(descriptor)
    descriptor = -1
    guard closed == 0, rename(temporary, path) == 0 else {
      let error = FileWriteError(path, errno: errno)
      unlink(temporary)
      throw error
    }
  }

  /// Removes the temporary; `path` is left as it was.
  public func abandon() {
    guard descriptor >= 0 else { return }
    close(descriptor)
    descriptor = -1
    unlink(temporary)
  }

  /// Writes `bytes` to `path` as one file.
  public static func write(_ bytes: some DataProtocol, to path: String) throws(FileWriteError) {
    let file = try AtomicFile(path)
    try file.write(bytes)
    try file.commit()
  }

  /// Removes `prefix<pid>-<n>` temporaries in `folder` whose process no longer runs.
  static func removeStale(in folder: String, prefix: String) {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
    for name in names where name.hasPrefix(prefix) {
      let rest = name.dropFirst(prefix.count)
      guard let pid = rest.split(separator: "-").first.flatMap({ Int32($0) }), !isRunning(pid)
      else { continue }
      unlink(folder + "/" + name)
    }
  }

  /// Temporaries of one process differ by this count.
  private static let counter = Counter()
}

/// Whether process `pid` exists (a process of another user counts as running).
func isRunning(_ pid: Int32) -> Bool {
  pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
}

/// A thread-safe increasing count.
final class Counter: @unchecked Sendable {
  private var value = 0
  private let lock = NSLock()
  func next() -> Int {
    lock.lock()
    defer { lock.unlock() }
    value += 1
    return value
  }
}

/// Creates `path` and any missing folders above it (like `mkdir -p`); the errno of the first
/// failure, or 0.
public func createFolders(_ path: String) -> Int32 {
  var info = stat()
  if stat(path, &info) == 0 { return (info.st_mode & S_IFMT) == S_IFDIR ? 0 : ENOTDIR }
  let parent = PathText.parent(path)
  if !parent.isEmpty, parent != path {
    let code = createFolders(parent)
    if code != 0 { return code }
  }
  return mkdir(path, 0o755) == 0 || errno == EEXIST ? 0 : errno
}

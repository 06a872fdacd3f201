// Reading input files safely: only regular files are read (a FIFO would block forever, a device
// could stream without end, a directory is a mistake), opened without blocking and sized before
// a byte is read. Files whose size the kernel reports as 0 (empty, or /proc files) read as empty.

import Foundation

/// An input file opened for reading: its descriptor and size, or why it cannot be used.
struct RegularFile {
  let descriptor: Int32
  let size: Int

  /// Opens `path`; the error says, in words, what the file is and why it cannot be read. A file
  /// of a run directory is opened without `followingLinks`: a symbolic link there is refused,
  /// so a link planted in a run cannot make mlpc read a file outside it.
  static func open(_ path: String, followingLinks: Bool = true) -> Result<RegularFile, FileProblem>
  {
    let fd = Glibc.open(
      path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followingLinks ? 0 : O_NOFOLLOW))
    guard fd >= 0 else {
      let code = errno
      if code == ELOOP, !followingLinks {
        return .failure(
          FileProblem(
            path: path,
            reason: "is a symbolic link, which mlpc does not follow inside a run directory"))
      }
      return .failure(FileProblem(path: path, errno: code))
    }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      let problem = FileProblem(path: path, errno: errno)
      close(fd)
      return .failure(problem)
    }
    let kind = info.st_mode & S_IFMT
    guard kind == S_IFREG else {
      close(fd)
      let what =
        switch kind {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a named pipe (FIFO)"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
      return .failure(FileProblem(path: path, reason: "is \(what), not a regular file"))
    }
    return .success(RegularFile(descriptor: fd, size: Int(info.st_size)))
  }

  /// The bytes of the regular file at `path` (at most `limit`).
  static func contents(_ path: String, followingLinks: Bool = true, limit: Int) -> Result<
    Data, FileProblem
  > {
    open(path, followingLinks: followingLinks).flatMap { $0.readAll(limit: limit) }
  }

  /// Reads the whole file (at most `limit` bytes) and closes it.
  func readAll(limit: Int) -> Result<Data, FileProblem> {
    defer { close(descriptor) }
    guard size <= limit else {
      return .failure(FileProblem(path: "", reason: "is \(size) bytes, more than \(limit)"))
    }
    var data = Data(count: size)
    var done = 0
    while done < size {
      let n = data.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + done, size - done) }
      if n < 0, errno == EINTR || errno == EAGAIN { continue }
      if n == 0 {
        return .failure(FileProblem(path: "", reason: "became shorter while it was read"))
      }
      guard n > 0 else { return .failure(FileProblem(path: "", errno: errno)) }
      done += n
    }
    return .success(data)
  }
}

/// Why a file cannot be read, in words.
public struct FileProblem: Error, Sendable {
  public var path: String
  public var reason: String

  init(path: String, reason: String) { (self.path, self.reason) = (path, reason) }

  init(path: String, errno code: Int32) {
    self.path = path
    reason =
      switch code {
      case ENOENT: "does not exist"
      case EACCES, EPERM: "cannot be read (permission denied)"
      default: "cannot be read (\(String(cString: strerror(code))))"
      }
  }
}

/// The cause of a file-system error in words: the operating system's message for the error
/// under Foundation's wrapper ("No space left on device", "Permission denied"), not
/// "The operation could not be completed".
public func causeInWords(_ error: Error) -> String {
  var e = error as NSError
  while let underlying = e.userInfo[NSUnderlyingErrorKey] as? NSError { e = underlying }
  if e.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(e.code))) }
  if e.domain == NSCocoaErrorDomain {
    switch e.code {
    case NSFileWriteOutOfSpaceError: return String(cString: strerror(ENOSPC))
    case NSFileWriteNoPermissionError, NSFileReadNoPermissionError:
      return String(cString: strerror(EACCES))
    case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return String(cString: strerror(ENOENT))
    default: break
    }
  }
  return e.localizedDescription
}

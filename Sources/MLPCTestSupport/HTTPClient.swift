// A small blocking HTTP/1.1 client over a loopback socket, for the server's tests: every byte it
// sends is the test's to choose (a body cut short, a lying Content-Length, a client that stalls),
// and it runs off the Swift concurrency pool (on a thread of its own) so a test never starves the
// server it is talking to.

import Dispatch
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A response: status, headers (names lowercased), body.
public struct HTTPReply: Sendable {
  public var status: Int
  public var headers: [String: String]
  public var body: String

  /// The body parsed as a JSON object.
  public var json: [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
  }
}

public struct HTTPClientError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(description: String) { self.description = description }
}

public enum HTTPClient {
  /// A connected socket to 127.0.0.1:`port`, with receive and send timeouts.
  public static func connect(port: Int, timeout: Double = 30) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HTTPClientError(description: "socket: \(errno)") }
    var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard ok == 0 else {
      let e = errno
      close(fd)
      throw HTTPClientError(description: "connect: \(String(cString: strerror(e)))")
    }
    return fd
  }

  /// Writes all of `bytes`; false if the peer closed.
  @discardableResult
  public static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var sent = 0
    while sent < bytes.count {
      let n = bytes[sent...].withUnsafeBytes {
        Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      if n <= 0 { return false }
      sent += n
    }
    return true
  }

  /// Reads until the peer closes (or the timeout), or, with `untilComplete`, until one whole
  /// response has arrived (a server may keep reading a refused request's body before closing).
  public static func receiveAll(_ fd: Int32, untilComplete: Bool = false) -> [UInt8] {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n <= 0 { break }
      out += buffer[0..<n]
      if untilComplete, isComplete(out) { break }
    }
    return out
  }

  /// Whether `bytes` hold a whole response.
  static func isComplete(_ bytes: [UInt8]) -> Bool {
    guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return false }
    let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).lowercased()
    if head.contains("transfer-encoding: chunked") {
      return bytes[end.upperBound...].firstRange(of: Array("0\r\n\r\n".utf8)) != nil
    }
    guard
      let line = head.components(separatedBy: "\r\n").first(where: {
        $0.hasPrefix("content-length:")
      }),
      let length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces))
    else { return false }
    return bytes.count - end.upperBound >= length
  }

  /// Runs `work` on a thread of its own (blocking socket calls never occupy the concurrency pool
  /// or dispatch's bounded pool).
  public static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws
    -> T
  {
    try await withCheckedThrowingContinuation { done in
      let thread = Thread { done.resume(with: Result { try work() }) }
      thread.stackSize = 1 << 20
      thread.start()
    }
  }

  /// The raw request text for `method path` with `body`.
  public static func requestBytes(
    _ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]
  ) -> [UInt8] {
    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    for (k, v) in headers.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
    if let body {
      if headers["Content-Type"] == nil { head += "Content-Type: application/json\r\n" }
      head += "Content-Length: \(body.utf8.count)\r\n"
    }
    return Array((head + "\r\n" + (body ?? "")).utf8)
  }

  /// Parses a complete response (Content-Length or chunked body).
  public static func parse(_ bytes: [UInt8]) throws -> HTTPReply {
    guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else {
      throw HTTPClientError(description: "no complete response (\(bytes.count) bytes)")
    }
    let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
    var lines = head.components(separatedBy: "\r\n")
    let statusLine = lines.removeFirst().split(separator: " ")
    guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
      throw HTTPClientError(description: "bad status line")
    }
    var headers: [String: String] = [:]
    for line in lines {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
        .trimmingCharacters(in: .whitespaces)
    }
    var body = Array(bytes[end.upperBound...])
    if headers["transfer-encoding"]?.lowercased() == "chunked" {
      var out: [UInt8] = []
      var i = 0
      while let lineEnd = body[i...].firstRange(of: Array("\r\n".utf8)) {
        let size =
          Int(String(decoding: body[i..<lineEnd.lowerBound], as: UTF8.self), radix: 16) ?? 0
        if size == 0 { break }
        out += body[lineEnd.upperBound..<lineEnd.upperBound + size]
        i = lineEnd.upperBound + size + 2
      }
      body = out
    } else if let length = headers["content-length"].flatMap({ Int($0) }) {
      guard body.count >= length else {
        throw HTTPClientError(description: "body cut short: \(body.count) of \(length) bytes")
      }
      body = Array(body[..<length])
    }
    return HTTPReply(status: status, headers: headers, body: String(decoding: body, as: UTF8.self))
  }

  /// How long a test waits for a server before it fails. Long: an in-process server's handlers
  /// run on the concurrency pool, which a test run on a 2-CPU machine may keep busy with other
  /// tests' synchronous work for minutes; a test that hangs still fails.
  public static let patience: Double = 1200

  /// One request on its own connection, blocking, waiting up to `timeout` seconds.
  public static func requestBlocking(
    port: Int, _ method: String, _ path: String, body: String? = nil,
    headers: [String: String] = [:], timeout: Double = patience
  ) throws -> HTTPReply {
    let fd = try connect(port: port, timeout: timeout)
    defer { close(fd) }
    send(fd, requestBytes(method, path, body: body, headers: headers))
    return try parse(receiveAll(fd, untilComplete: true))
  }

  /// One request, run on a thread of its own (off the concurrency pool).
  public static func request(
    port: Int, _ method: String, _ path: String, body: String? = nil,
    headers: [String: String] = [:], timeout: Double = patience
  ) async throws -> HTTPReply {
    try await onThread {
      try requestBlocking(port: port, method, path, body: body, headers: headers, timeout: timeout)
    }
  }
}

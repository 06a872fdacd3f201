// The raw lane (predictions read and answered from the connection's bytes): what it reads as a
// request and what it hands on, and that it keeps the connection's time as Hummingbird does — a
// busy kept-alive connection lives past the read timeout, a silent one is closed after it, and a
// graceful stop closes an idle connection and finishes a request already begun. (That its
// answers equal Hummingbird's responder's, in order, is in FastLaneTests.)

#if Serve
  import Foundation
  import MLPCTestSupport
  import MLPCore
  @testable import MLPServe
  import Synchronization
  import Testing

  @Suite struct RawLaneTests {
    static func read(_ text: String, maxBody: Int = 1000) -> RawRequest {
      Array(text.utf8).withUnsafeBytes { readRawRequest($0, maxBody: maxBody) }
    }

    static let plain =
      "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\ncontent-type:application/json \r\n"
      + "Authorization: Bearer abc\r\nConnection: keep-alive, close\r\nContent-Length: 5\r\n\r\n"
      + "{\"a\"}"

    @Test func aPlainRequestIsReadWithTheFieldsItUses() throws {
      let n = Self.plain.utf8.count
      let head = RawHead(
        path: "/v1/models/m:predict", contentType: "application/json",
        authorization: "Bearer abc", close: true, body: n - 5..<n)
      #expect(Self.read(Self.plain) == .take(head, length: n))
      // With the next request's first bytes behind it, the same.
      #expect(Self.read(Self.plain + "POST /") == .take(head, length: n))
      // Every part of it is waited for.
      for cut in 0..<Self.plain.utf8.count {
        let part = String(decoding: Array(Self.plain.utf8)[..<cut], as: UTF8.self)
        #expect(Self.read(part) == .incomplete, "\(cut) bytes")
      }
    }

    @Test func anythingElseIsHandedOn() {
      let line = "POST /v1/models/m:predict HTTP/1.1\r\n"
      let cases = [
        "GET /v2/health/live HTTP/1.1\r\n\r\n",
        "post /v1/models/m:predict HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "POST /v1/models/m:predict?x=1 HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "POST /invocations#f HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "POST http://x/invocations HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "POST /v1/models/m:predict HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
        "POST /v1/models/m:predict  HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        line + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        line + "Content-Length: 2\r\nExpect: 100-continue\r\n\r\n{}",
        line + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
        line + "Content-Length: +2\r\n\r\n{}",
        line + "Content-Length: 2 2\r\n\r\n{}",
        line + "Content-Length: 1001\r\n\r\n",
        line + "Host: x\r\n\r\n",
        line + "Content-Length : 2\r\n\r\n{}",
        line + "Host: x\r\n y\r\nContent-Length: 2\r\n\r\n{}",
        line + "Host x\r\nContent-Length: 2\r\n\r\n{}",
        line + "Host: x\nContent-Length: 2\r\n\r\n{}",
        line + "Host: a\u{0}b\r\nContent-Length: 2\r\n\r\n{}",
        line + "Connection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\n{}",
        line + "Content-Type: a\r\nContent-Type: b\r\nContent-Length: 2\r\n\r\n{}",
        line + "X: " + String(repeating: "y", count: 17 << 10) + "\r\nContent-Length: 2\r\n\r\n{}",
        line + "X: " + String(repeating: "y", count: 17 << 10),
      ]
      for text in cases {
        #expect(Self.read(text) == .handOn, "\(text.prefix(120))")
      }
    }

    /// Mangled requests (bytes replaced, inserted, dropped, cut short; seeded): the reader
    /// never traps, and what it takes lies within the bytes, after a head that ends in an empty
    /// line, with a body of the length its head announces.
    @Test func mangledRequestsAreReadSafely() {
      var rng = SeededGenerator(seed: 26)
      let base = Array(Self.plain.utf8)
      let alphabet = Array("\r\n :?#/0123456789POSTHTPpostContent-Length\u{0}\u{7f}\t".utf8)
      var taken = 0
      for _ in 0..<20_000 {
        var bytes = base
        for _ in 0..<Int(rng.uniform(1, 4)) {
          let at = Int(rng.uniform(0, Double(bytes.count)))
          let b = alphabet[Int(rng.uniform(0, Double(alphabet.count)))]
          switch Int(rng.uniform(0, 4)) {
          case 0: bytes[at] = b
          case 1: bytes.insert(b, at: at)
          case 2: bytes.remove(at: at)
          default: bytes = Array(bytes[..<at])
          }
          if bytes.isEmpty { break }
        }
        let read = bytes.withUnsafeBytes { readRawRequest($0, maxBody: 1000) }
        if case .take(let head, let length) = read {
          taken += 1
          let end = head.body.lowerBound
          #expect(length == head.body.upperBound && length <= bytes.count)
          #expect(end >= 4 && Array(bytes[end - 4..<end]) == Array("\r\n\r\n".utf8))
          #expect(head.path.hasPrefix("/") && !head.path.contains("?"))
        }
      }
      // Some mangled requests are still plain ones (a changed header value, say).
      #expect(taken > 0)
    }

    /// One request on `fd` and its whole answer.
    static func ask(_ fd: Int32, _ row: String) -> HTTPReply? {
      let body = #"{"instances":[\#(row)]}"#
      let text =
        "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
      guard HTTPClient.send(fd, Array(text.utf8)) else { return nil }
      return try? HTTPClient.parse(HTTPClient.receiveAll(fd, untilComplete: true))
    }

    /// The status line names the reason as Hummingbird's answers do (NIO's phrases).
    @Test func statusLinesCarryTheirReasons() async throws {
      let server = try await RunningServer([("m", try irisLike())])
      let port = server.port
      let lines = try await HTTPClient.onThread {
        try ["m", "x"].map { name in
          let fd = try HTTPClient.connect(port: port, timeout: 60)
          defer { close(fd) }
          let body = #"{"instances":[[1,0]]}"#
          HTTPClient.send(
            fd,
            Array(
              ("POST /v1/models/\(name):predict HTTP/1.1\r\nHost: x\r\nContent-Type: "
                + "application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)").utf8))
          let reply = HTTPClient.receiveAll(fd, untilComplete: true)
          return String(decoding: reply.prefix { $0 != 13 }, as: UTF8.self)
        }
      }
      #expect(lines == ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"], "\(lines)")
      #expect(server.server.state.fastLaneAnswers == 2)
      try await server.stop()
    }

    @Test func aBusyConnectionOutlivesTheReadTimeoutAndASilentOneDoesNot() async throws {
      let server = try await RunningServer([("m", try irisLike())]) { $0.readTimeout = 0.4 }
      let port = server.port
      let (statuses, closedAfter) = try await HTTPClient.onThread {
        let fd = try HTTPClient.connect(port: port, timeout: 60)
        defer { close(fd) }
        var statuses: [Int] = []
        // Requests 0.1 s apart for three times the timeout, on one connection.
        let start = Date()
        var silent = start
        while Date().timeIntervalSince(start) < 1.2 {
          silent = Date()
          statuses.append(Self.ask(fd, "[1,0]")?.status ?? -1)
          Thread.sleep(forTimeInterval: 0.1)
        }
        // Then silence from the last request on: the server closes the connection after the
        // timeout (the client would wait 60 s).
        let rest = HTTPClient.receiveAll(fd)
        return (statuses + (rest.isEmpty ? [] : [-2]), Date().timeIntervalSince(silent))
      }
      #expect(statuses.count >= 6 && statuses.allSatisfy { $0 == 200 }, "\(statuses)")
      #expect(closedAfter > 0.35 && closedAfter < 30, "\(closedAfter) s")
      #expect(server.server.state.fastLaneAnswers == statuses.count)
      try await server.stop()
    }

    @Test func aStopClosesAnIdleConnectionAndFinishesARequestBegun() async throws {
      let server = try await RunningServer([("m", try irisLike())])
      let port = server.port
      let idle = try HTTPClient.connect(port: port, timeout: 60)
      let begun = try HTTPClient.connect(port: port, timeout: 60)
      defer {
        close(idle)
        close(begun)
      }
      #expect(Self.ask(idle, "[1,0]")?.status == 200)
      #expect(Self.ask(begun, "[1,0]")?.status == 200)
      // Half a request on one connection, then the stop.
      let body = #"{"instances":[[0,-1]]}"#
      let head =
        "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + "Content-Length: \(body.utf8.count)\r\n\r\n"
      #expect(HTTPClient.send(begun, Array((head + body.prefix(5)).utf8)))
      // Wait until the server holds those bytes (read on its event loop).
      try await _Concurrency.Task.sleep(for: .milliseconds(200))
      let stopping = _Concurrency.Task { try await server.stop() }
      let idleClosed = try await HTTPClient.onThread { HTTPClient.receiveAll(idle).isEmpty }
      #expect(idleClosed, "the idle connection is closed, with nothing sent on it")
      // The rest of the begun request still gets its answer, and then the stop completes.
      let reply = try await HTTPClient.onThread {
        HTTPClient.send(begun, Array(body.dropFirst(5).utf8))
        return try HTTPClient.parse(HTTPClient.receiveAll(begun))
      }
      #expect(reply.status == 200, "\(reply)")
      let want = expected(0, -1)
      #expect((reply.json["predictions"] as? [String])?.first == (want[1] > want[0] ? "b" : "a"))
      try await stopping.value
    }
  }
#endif

// The fast lane (predictions answered in the connection's pipeline) against Hummingbird's
// responder: the same requests, good and bad, get the same statuses, headers and bodies from a
// server with the lane and one without it; requests on one kept-alive connection, some answered
// in the lane and some handed on, are answered in order.

#if Serve
  import Foundation
  import MLPCTestSupport
  import MLPCore
  @testable import MLPServe
  import Testing

  @Suite struct FastLaneTests {
    /// Responses one after another in `bytes` (each with a Content-Length).
    static func responses(_ bytes: [UInt8]) throws -> [HTTPReply] {
      var rest = ArraySlice(bytes)
      var out: [HTTPReply] = []
      while let end = rest.firstRange(of: Array("\r\n\r\n".utf8)) {
        let head = String(decoding: rest[..<end.lowerBound], as: UTF8.self).lowercased()
        let line = try #require(
          head.components(separatedBy: "\r\n").first { $0.hasPrefix("content-length:") })
        let length = try #require(Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)))
        let stop = end.upperBound + length
        try #require(stop <= rest.endIndex, "a response cut short")
        out.append(try HTTPClient.parse(Array(rest[..<stop])))
        rest = rest[stop...]
      }
      #expect(rest.isEmpty, "\(rest.count) bytes after the last response")
      return out
    }

    /// RFC 9110's IMF-fixdate, read by Foundation.
    static var imfDate: DateFormatter {
      let f = DateFormatter()
      f.locale = Locale(identifier: "en_US_POSIX")
      f.timeZone = TimeZone(identifier: "GMT")
      f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
      return f
    }

    @Test func datesAreWrittenAsFoundationWritesThem() {
      for t in [0, 951_782_400, 1_796_319_867, 4_102_444_799, 1_234_567_890] {
        let date = Date(timeIntervalSince1970: Double(t))
        #expect(HTTPDate.text(time_t(t)) == Self.imfDate.string(from: date), "\(t)")
      }
    }

    @Test func answersAsHummingbirdsResponderDoes() async throws {
      let token = "0123456789abcdef0123"
      let models = [
        ("m", try irisLike()),
        (
          "r",
          try denseModel(
            features: ["x", "y"], classes: nil, weights: [[1, -2]], bias: [0.25],
            activation: "identity")
        ),
      ]
      let lane = try await RunningServer(models) { $0.token = token }
      let general = try await RunningServer(models) {
        $0.token = token
        $0.fastLane = false
      }
      let auth = ["Authorization": "Bearer \(token)"]
      let requests: [(String, String, [String: String])] = [
        (
          "/v1/models/m:predict", #"{"instances":[{"x":1,"y":0},[0,1]],"probabilities":true}"#, auth
        ),
        ("/v1/models/m:predict", #"{"instances":[[0.5,-3]]}"#, auth),
        ("/v1/models/r:predict", #"{"instances":[{"x":2,"y":1}]}"#, auth),
        ("/v1/models/r:predict", #"{"instances":[[1,2]],"probabilities":true}"#, auth),
        (
          "/v2/models/m/infer",
          #"{"id":"q","inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[1,2]}]}"#,
          auth
        ),
        ("/v1/models/m:predict", #"{"instances":[{"x":1,"z":0}]}"#, auth),
        ("/v1/models/m:predict", #"{"instances":[[1,2]],"extra":1}"#, auth),
        ("/v1/models/m:predict", #"{"instances":[[1,2]"#, auth),
        ("/v1/models/m:predict", "", auth),
        ("/v1/models/n:predict", #"{"instances":[[1,2]]}"#, auth),
        ("/v1/models/m:predict", #"{"instances":[[1,2]]}"#, [:]),
        ("/v1/models/m:predict", #"{"instances":[[1,2]]}"#, ["Authorization": "Bearer 0123"]),
        ("/invocations", #"{"dataframe_split":{"columns":["x","y"],"data":[[1,2]]}}"#, auth),
        (
          "/invocations", #"{"instances":[[1,2]]}"#,
          auth.merging(["Content-Type": "text/csv"]) { a, _ in a }
        ),
        ("/v2/health/live", #"{}"#, auth),
        ("/v9/nothing", #"{}"#, auth),
      ]
      /// The reply, and whether its Date header names a second between the request's start
      /// and its answer (timed around the request: a loaded machine may take long over it).
      func dated(
        _ server: RunningServer, _ path: String, _ body: String, _ headers: [String: String]
      )
        async throws -> (HTTPReply, Bool)
      {
        let before = Date().timeIntervalSince1970.rounded(.down)
        let reply = try await server.request("POST", path, body: body, headers: headers)
        let after = Date().timeIntervalSince1970
        guard let text = reply.headers["date"], let date = Self.imfDate.date(from: text) else {
          return (reply, false)
        }
        return (reply, (before...after).contains(date.timeIntervalSince1970))
      }
      for (path, body, headers) in requests {
        let (a, aDated) = try await dated(lane, path, body, headers)
        let (b, bDated) = try await dated(general, path, body, headers)
        #expect(a.status == b.status && a.body == b.body, "\(path) \(body): \(a) against \(b)")
        // The same headers, both dated; the lane's with the second it answered in
        // (Hummingbird's date comes from a cache a task refreshes each second, which the test
        // run's busy concurrency pool may leave seconds behind, so only its presence is checked).
        #expect(
          a.headers.filter { $0.key != "date" } == b.headers.filter { $0.key != "date" },
          "\(path) \(body): \(a.headers) against \(b.headers)")
        #expect(aDated && b.headers["date"] != nil, "\(a.headers) \(b.headers) \(bDated)")
      }
      // Every one of them was answered in the lane by the one server, none by the other.
      #expect(lane.server.state.fastLaneAnswers == requests.count)
      #expect(general.server.state.fastLaneAnswers == 0)
      // And counted in the metrics as Hummingbird's answers are.
      let a = try await lane.request("GET", "/metrics", headers: auth).body
      let b = try await general.request("GET", "/metrics", headers: auth).body
      func counts(_ text: String) -> [Substring] {
        text.split(separator: "\n").filter {
          $0.hasPrefix("mlpc_http_requests_total")
            || $0.hasPrefix("mlpc_http_request_duration_seconds_count")
        }.sorted()
      }
      #expect(!counts(a).isEmpty && counts(a) == counts(b), "\(counts(a)) against \(counts(b))")
      try await lane.stop()
      try await general.stop()
    }

    @Test func aKeptAliveConnectionIsAnsweredInOrder() async throws {
      let server = try await RunningServer([("m", try irisLike())])
      let port = server.port
      // Sent in one write: answered in the lane, handed on (a query string), in the lane, an
      // error in the lane, a GET (handed on), and the last closes the connection.
      func post(_ path: String, _ body: String, close: Bool = false) -> String {
        "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + (close ? "Connection: close\r\n" : "")
          + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
      }
      let text =
        post("/v1/models/m:predict", #"{"instances":[[1,0]]}"#)
        + post("/invocations?model=m", #"{"instances":[[0,-1]]}"#)
        + post("/v1/models/m:predict", #"{"instances":[[1,1]]}"#)
        + post("/v1/models/x:predict", #"{"instances":[[1,2]]}"#)
        + "GET /v2/models/m/ready HTTP/1.1\r\nHost: x\r\n\r\n"
        + post("/v1/models/m:predict", #"{"instances":[[0.25,-3]]}"#, close: true)
      let bytes = try await HTTPClient.onThread {
        let fd = try HTTPClient.connect(port: port, timeout: HTTPClient.patience)
        defer { close(fd) }
        HTTPClient.send(fd, Array(text.utf8))
        return HTTPClient.receiveAll(fd)
      }
      let replies = try Self.responses(bytes)
      #expect(replies.map(\.status) == [200, 200, 200, 404, 200, 200], "\(replies)")
      // Classes b, a, b, then a: answers out of order would not match.
      let rows: [(Double, Double)] = [(1, 0), (0, -1), (1, 1)]
      for (k, row) in rows.enumerated() where k < replies.count {
        let want = expected(row.0, row.1)
        let predicted = (replies[k].json["predictions"] as? [String])?.first
        #expect(predicted == (want[1] > want[0] ? "b" : "a"), "reply \(k): \(replies[k].body)")
      }
      if replies.count == 6 {
        let want = expected(0.25, -3)
        #expect(
          (replies[5].json["predictions"] as? [String])?.first == (want[1] > want[0] ? "b" : "a"))
        #expect(replies[4].json["ready"] as? Bool == true)
      }
      // The first in the lane; after the one handed on, the lane takes none until that one is
      // answered, so how many more it took depends on how the bytes were read (at most the
      // three other POSTs without a query).
      #expect((1...4).contains(server.server.state.fastLaneAnswers))
      try await server.stop()
    }
  }
#endif

// The server in-process on an ephemeral loopback port, spoken to byte by byte: every route and
// protocol against answers computed independently (softmax of a known layer), every refusal with
// its status and field, tokens, body and row limits, a stalled client, a flood of oversized
// bodies, and batched answers equal to unbatched ones.

#if Serve
  import Foundation
  import MLPCTestSupport
  import MLPCore
  @testable import MLPServe
  import Synchronization
  import Testing

  /// A server running in this process until `stop()`.
  final class RunningServer: Sendable {
    let server: InferenceServer
    let port: Int
    private let task: _Concurrency.Task<Void, any Error>

    init(_ models: [(String, Model)], configure: (inout ServeConfiguration) -> Void = { _ in })
      async throws
    {
      var c = ServeConfiguration()
      c.port = 0
      c.accessLog = false
      // Connections stay open as long as the clients wait (see `HTTPClient.patience`); the
      // read-timeout test sets its own.
      c.readTimeout = HTTPClient.patience
      configure(&c)
      let metrics = ServeMetrics(models: models.map(\.0))
      let served = models.map { name, model in
        ServedModel(
          name: name, path: name, model: model, maxBatch: c.maxBatch,
          maxDelayMicroseconds: c.maxDelayMicroseconds,
          observe: { metrics.batch(model: name, rows: $0) })
      }
      let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
      let server = InferenceServer(
        state: ServeState(models: served, metrics: metrics, configuration: c), signals: false
      ) { port in continuation.yield(port) }
      self.server = server
      task = _Concurrency.Task { try await server.run() }
      var iterator = ports.makeAsyncIterator()
      port = await iterator.next() ?? 0
    }

    func stop() async throws {
      await server.shutdown()
      try await task.value
    }

    func request(
      _ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:],
      timeout: Double = HTTPClient.patience
    ) async throws -> HTTPReply {
      try await HTTPClient.request(
        port: port, method, path, body: body, headers: headers, timeout: timeout)
    }
  }

  /// A model file for a layer of known weights: `features` inputs, softmax (or sigmoid) out.
  func denseModel(
    features: [String], classes: [String]?, weights: [[Float]], bias: [Float],
    activation: String, hidden: (units: Int, seed: UInt64)? = nil, hiddenActivation: String = "tanh"
  ) throws -> Model {
    var bytes = ModelBytes()
    var layers: [[String: Any]] = []
    var tensors: [String: (shape: [Any], offsets: [Any])] = [:]
    var values: [Float] = []
    func add(_ name: String, _ shape: [Int], _ v: [Float]) {
      tensors[name] = (shape, [values.count * 4, (values.count + v.count) * 4])
      values += v
    }
    var width = features.count
    if let hidden {
      var g = SplitMix(hidden.seed)
      add("h.weight", [hidden.units, width], (0..<hidden.units * width).map { _ in g.uniform() })
      add("h.bias", [hidden.units], (0..<hidden.units).map { _ in g.uniform() })
      layers.append([
        "name": "h", "units": hidden.units, "activation": hiddenActivation, "parameters": [:],
      ])
      width = hidden.units
    }
    add("o.weight", [weights.count, width], weights.flatMap { $0 })
    add("o.bias", [bias.count], bias)
    layers.append([
      "name": "o", "units": weights.count, "activation": activation, "parameters": [:],
    ])
    bytes.description["features"] = features
    bytes.description["input"] = features.count
    bytes.description["layers"] = layers
    if let classes {
      bytes.description["classes"] = classes
      bytes.description["loss"] = activation == "sigmoid" ? "binary_cross_entropy" : "cross_entropy"
    } else {
      bytes.description["task"] = "regression"
      bytes.description["loss"] = "mse"
      bytes.description["classes"] = nil
      bytes.description["targets"] = (0..<weights.count).map { "t\($0)" }
    }
    bytes.tensors = tensors
    bytes.values = values
    return try Model.decode(bytes.data, file: "test.safetensors")
  }

  struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func uniform() -> Float {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      z ^= z >> 31
      return Float(z >> 40) / Float(1 << 24) * 2 - 1
    }
  }

  /// The 2-feature classifier of ModelBytes: z = W x + b, W = [[1, 2], [3, 4]], b = (0.5, −0.5).
  func irisLike() throws -> Model {
    try denseModel(
      features: ["x", "y"], classes: ["a", "b"], weights: [[1, 2], [3, 4]], bias: [0.5, -0.5],
      activation: "softmax")
  }

  /// softmax(W x + b) in Double.
  func expected(_ x: Double, _ y: Double) -> [Double] {
    let z = [x + 2 * y + 0.5, 3 * x + 4 * y - 0.5]
    let m = z.max()!
    let e = z.map { Foundation.exp($0 - m) }
    return e.map { $0 / e.reduce(0, +) }
  }

  @Suite struct ServeTests {
    @Test func predictionsEqualTheLayerWrittenOut() async throws {
      let server = try await RunningServer([("m", try irisLike())])
      let rows: [(Double, Double)] = [(1, 0), (0, 1), (-1, 2), (0.25, -3)]
      let instances = rows.map { #"{"x":\#($0.0),"y":\#($0.1)}"# }.joined(separator: ",")
      let reply = try await server.request(
        "POST", "/v1/models/m:predict", body: #"{"instances":[\#(instances)],"probabilities":true}"#
      )
      #expect(reply.status == 200, "\(reply.body)")
      let predictions = reply.json["predictions"] as? [[String: Any]] ?? []
      #expect(predictions.count == rows.count)
      for (r, row) in rows.enumerated() where r < predictions.count {
        let want = expected(row.0, row.1)
        let p = predictions[r]["probabilities"] as? [String: Double] ?? [:]
        #expect(abs((p["a"] ?? -1) - want[0]) < 1e-6 && abs((p["b"] ?? -1) - want[1]) < 1e-6)
        #expect(predictions[r]["class"] as? String == (want[1] > want[0] ? "b" : "a"))
      }
      // The same rows through every other format give the same answers.
      let plain = try await server.request(
        "POST", "/v1/models/m:predict", body: #"{"instances":[[1,0],[0,1],[-1,2],[0.25,-3]]}"#)
      let classes = plain.json["predictions"] as? [String]
      #expect(classes == predictions.map { $0["class"] as? String ?? "" })
      for body in [
        #"{"dataframe_split":{"columns":["y","x"],"data":[[0,1],[1,0],[2,-1],[-3,0.25]]}}"#,
        #"{"dataframe_records":[{"x":1,"y":0},{"x":0,"y":1},{"x":-1,"y":2},{"y":-3,"x":0.25}]}"#,
        #"{"instances":[[1,0],[0,1],[-1,2],[0.25,-3]]}"#,
        #"{"inputs":{"x":[1,0,-1,0.25],"y":[0,1,2,-3]}}"#,
      ] {
        let r = try await server.request("POST", "/invocations", body: body)
        #expect(r.status == 200 && r.json["predictions"] as? [String] == classes, "\(r.body)")
      }
      let v2 = try await server.request(
        "POST", "/v2/models/m/infer",
        body:
          #"{"id":"q1","inputs":[{"name":"input","shape":[4,2],"datatype":"FP32","data":[[1,0],[0,1],[-1,2],[0.25,-3]]}]}"#
      )
      #expect(v2.status == 200, "\(v2.body)")
      #expect(v2.json["id"] as? String == "q1" && v2.json["model_name"] as? String == "m")
      let outputs = v2.json["outputs"] as? [[String: Any]] ?? []
      #expect(outputs.map { $0["name"] as? String } == ["predicted", "probabilities"])
      #expect(outputs.first?["data"] as? [String] == classes)
      let flat = outputs.last?["data"] as? [Double] ?? []
      #expect(outputs.last?["shape"] as? [Int] == [4, 2])
      for (r, row) in rows.enumerated() where flat.count == 8 {
        let want = expected(row.0, row.1)
        #expect(abs(flat[2 * r] - want[0]) < 1e-6 && abs(flat[2 * r + 1] - want[1]) < 1e-6)
      }
      // One tensor per column, and only the output asked for.
      let columns = try await server.request(
        "POST", "/v2/models/m/infer",
        body:
          #"{"inputs":[{"name":"y","shape":[4],"datatype":"FP32","data":[0,1,2,-3]},{"name":"x","shape":[4,1],"datatype":"FP64","data":[1,0,-1,0.25]}],"outputs":[{"name":"predicted"}]}"#
      )
      let only = columns.json["outputs"] as? [[String: Any]] ?? []
      #expect(only.count == 1 && only.first?["data"] as? [String] == classes, "\(columns.body)")
      try await server.stop()
    }

    @Test func metadataHealthAndEveryRoute() async throws {
      let server = try await RunningServer([("m", try irisLike())])
      let meta = try await server.request("GET", "/v2/models/m")
      #expect(meta.status == 200)
      let inputs = meta.json["inputs"] as? [[String: Any]] ?? []
      #expect(inputs.first?["name"] as? String == "input")
      #expect(inputs.first?["shape"] as? [Int] == [-1, 2])
      #expect(inputs.first?["datatype"] as? String == "FP32")
      for path in ["/v2/health/live", "/v2/health/ready", "/v2/models/m/ready", "/ping", "/health"]
      {
        let r = try await server.request("GET", path)
        #expect(r.status == 200 && r.headers["content-type"] == "application/json", "\(path)")
      }
      let v2 = try await server.request("GET", "/v2")
      #expect(v2.json["models"] as? [String] == ["m"])
      let doc = try await server.request("GET", "/openapi.json")
      #expect((doc.json["paths"] as? [String: Any])?.count == Set(serveRoutes.map(\.path)).count)
      let metrics = try await server.request("GET", "/metrics")
      #expect(metrics.status == 200)
      #expect(metrics.body.contains("mlpc_models_loaded 1"))
      #expect(
        metrics.body.contains(
          #"mlpc_http_requests_total{route="/v2/models/{name}",status="200"} 1"#))
      #expect(metrics.body.contains(#"mlpc_rows_predicted_total{model="m"} 0"#))
      _ = try await server.request(
        "POST", "/v1/models/m:predict", body: #"{"instances":[[1,2],[3,4]]}"#)
      let after = try await server.request("GET", "/metrics")
      #expect(after.body.contains(#"mlpc_rows_predicted_total{model="m"} 2"#), "\(after.body)")
      #expect(after.body.contains(#"mlpc_batch_rows_count{model="m"} 1"#))
      // A query is not part of the path; a name may be percent-encoded ('%6D' is 'm'); every
      // answer adds to its route's series (the server finds each series once, then keeps it).
      #expect(try await server.request("GET", "/v2/models/m?verbose=1").status == 200)
      #expect(try await server.request("GET", "/v2/models/%6D").json["name"] as? String == "m")
      let again = try await server.request("GET", "/metrics").body
      #expect(
        again.contains(#"mlpc_http_requests_total{route="/v2/models/{name}",status="200"} 3"#))
      #expect(
        again.contains(#"mlpc_http_request_duration_seconds_count{route="/v2/models/{name}"} 3"#),
        "\(again)")
      try await server.stop()
    }

    /// Every refusal: its status, and the field it names (or a phrase of its message).
    @Test func badInputIsALocatedClientError() async throws {
      let server = try await RunningServer([("m", try irisLike())]) {
        $0.maxRows = 3
        $0.maxBody = 4096
      }
      let cases: [(String, String, String?, Int, String)] = [
        (
          "POST", "/v1/models/m:predict", #"{"instances":[{"x":1,"y":2}"#, 400,
          "malformed JSON at byte 27"
        ),
        ("POST", "/v1/models/m:predict", "", 400, "the body is empty"),
        ("POST", "/v1/models/m:predict", "[1,2]", 400, "must be a JSON object"),
        ("POST", "/v1/models/m:predict", #"{"instance":[]}"#, 400, "did you mean 'instances'"),
        ("POST", "/v1/models/m:predict", #"{"instances":[]}"#, 400, "field instances"),
        ("POST", "/v1/models/m:predict", #"{"instances":[{"x":1}]}"#, 400, "missing feature 'y'"),
        (
          "POST", "/v1/models/m:predict", #"{"instances":[{"x":1,"y":2,"z":3}]}"#, 400,
          "field instances[0].z"
        ),
        (
          "POST", "/v1/models/m:predict", #"{"instances":[{"x":1,"y":2},{"x":"1","y":2}]}"#, 400,
          "field instances[1].x"
        ),
        (
          "POST", "/v1/models/m:predict", #"{"instances":[{"x":null,"y":2}]}"#, 400,
          "no transforms for missing"
        ),
        (
          "POST", "/v1/models/m:predict", #"{"instances":[{"x":true,"y":2}]}"#, 400,
          "found a boolean"
        ),
        (
          "POST", "/v1/models/m:predict", #"{"instances":[{"x":1e39,"y":2}]}"#, 400,
          "single precision"
        ),
        ("POST", "/v1/models/m:predict", #"{"instances":[[1,2,3]]}"#, 400, "field instances[0]"),
        ("POST", "/v1/models/m:predict", #"{"instances":[1,2]}"#, 400, "field instances[0]"),
        (
          "POST", "/v1/models/m:predict", #"{"instances":[[1,2],[1,2],[1,2],[1,2]]}"#, 413,
          "--max-rows"
        ),
        (
          "POST", "/v1/models/m:predict", #"{"instances":[[1,2]],"probabilities":1}"#, 400,
          "field probabilities"
        ),
        ("POST", "/v1/models/x:predict", #"{"instances":[[1,2]]}"#, 404, "no model 'x'"),
        ("POST", "/v1/models/n:predict", #"{"instances":[[1,2]]}"#, 404, "did you mean 'm'"),
        ("GET", "/v2/models/nope", nil, 404, "no model 'nope'"),
        ("GET", "/nowhere", nil, 404, "no route"),
        ("GET", "/v1/models/m:predict", nil, 405, "use POST"),
        ("DELETE", "/v2/models/m", nil, 405, "use GET"),
        ("POST", "/v2/models/m/infer", #"{"inputs":[]}"#, 400, "field inputs"),
        (
          "POST", "/v2/models/m/infer",
          #"{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}"#, 400,
          "[rows, 2]"
        ),
        (
          "POST", "/v2/models/m/infer",
          #"{"inputs":[{"name":"input","shape":[2,2],"datatype":"FP32","data":[1,2,3]}]}"#, 400,
          "does not match the 3 values"
        ),
        (
          "POST", "/v2/models/m/infer",
          #"{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP99","data":[1,2]}]}"#, 400,
          "field inputs[0].datatype"
        ),
        (
          "POST", "/v2/models/m/infer",
          #"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}"#, 400,
          "missing feature 'y'"
        ),
        (
          "POST", "/v2/models/m/infer",
          #"{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[1,2]}],"outputs":[{"name":"logits"}]}"#,
          400, "field outputs[0].name"
        ),
        (
          "POST", "/v2/models/m/infer",
          #"{"inputs":[{"name":"input","shape":[9223372036854775807,2],"datatype":"FP32","data":[1,2]}]}"#,
          400, "does not match"
        ),
        ("POST", "/invocations", #"{"instances":[[1,2]],"inputs":[[1,2]]}"#, 400, "send one"),
        (
          "POST", "/invocations", #"{"dataframe_split":{"columns":["x","x"],"data":[[1,2]]}}"#, 400,
          "named twice"
        ),
        ("POST", "/invocations", #"{"inputs":{"x":[1,2],"y":[1]}}"#, 400, "same length"),
        ("POST", "/invocations?model=q", #"{"instances":[[1,2]]}"#, 404, "no model 'q'"),
        ("POST", "/v1/models/m:predict", String(repeating: " ", count: 5000), 413, "--max-body"),
        ("POST", "/v1/models/m:predict", String(repeating: "[", count: 100), 400, "nested deeper"),
        (
          "POST", "/v1/models/m:predict", "{\"instances\":[[1,\"\u{1}\"]]}", 400,
          "control character"
        ),
      ]
      for (method, path, body, status, phrase) in cases {
        let r = try await server.request(method, path, body: body)
        let field = r.json["field"] as? String
        let message = r.json["error"] as? String ?? ""
        let found =
          phrase.hasPrefix("field ")
          ? field == String(phrase.dropFirst(6)) : message.contains(phrase)
        #expect(
          r.status == status && found, "\(method) \(path) \(body ?? ""): \(r.status) \(r.body)")
        #expect(r.headers["content-type"] == "application/json")
      }
      // A body of many small values is refused before it is held as parsed values.
      let many =
        #"{"instances":[["# + Array(repeating: "1", count: 100).joined(separator: ",") + "]]}"
      let tooMany = try await server.request("POST", "/v1/models/m:predict", body: many)
      #expect(tooMany.status == 413, "\(tooMany.body)")
      #expect((tooMany.json["error"] as? String ?? "").contains("more values than 3 rows"))
      let wrongMethod = try await server.request("PUT", "/v1/models/m:predict")
      #expect(wrongMethod.status == 405 && wrongMethod.headers["allow"] == "POST")
      let csv = try await server.request(
        "POST", "/invocations", body: "x,y\n1,2\n", headers: ["Content-Type": "text/csv"])
      #expect(csv.status == 415)
      // The server still answers after all that.
      let ok = try await server.request(
        "POST", "/v1/models/m:predict", body: #"{"instances":[[1,2]]}"#)
      #expect(ok.status == 200)
      try await server.stop()
    }

    @Test func aTokenIsRequiredWhenSet() async throws {
      let token = "0123456789abcdef0123"
      let server = try await RunningServer([("m", try irisLike())]) { $0.token = token }
      let body = #"{"instances":[[1,2]]}"#
      let none = try await server.request("POST", "/v1/models/m:predict", body: body)
      #expect(none.status == 401 && none.headers["www-authenticate"] == "Bearer")
      let wrong = try await server.request(
        "POST", "/v1/models/m:predict", body: body,
        headers: ["Authorization": "Bearer 0123456789abcdef0124"])
      #expect(wrong.status == 401)
      let prefix = try await server.request(
        "POST", "/v1/models/m:predict", body: body, headers: ["Authorization": "Bearer 0123"])
      #expect(prefix.status == 401)
      let right = try await server.request(
        "POST", "/v1/models/m:predict", body: body, headers: ["Authorization": "Bearer \(token)"])
      #expect(right.status == 200)
      #expect(try await server.request("GET", "/metrics").status == 401)
      #expect(try await server.request("GET", "/v2/health/ready").status == 200)
      try await server.stop()
    }

    @Test func aStalledClientIsCutOffAndOthersAreServed() async throws {
      let server = try await RunningServer([("m", try irisLike())]) { $0.readTimeout = 0.3 }
      let port = server.port
      // Timed on the client's own thread: the test's task may wait longer than that to resume
      // when other tests hold the cooperative threads.
      let (received, waited) = try await HTTPClient.onThread {
        let fd = try HTTPClient.connect(port: port, timeout: 60)
        defer { close(fd) }
        let started = Date()
        // Headers promising a body that never comes: the server closes the connection.
        HTTPClient.send(
          fd,
          Array(
            "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"in"
              .utf8))
        let received = HTTPClient.receiveAll(fd)
        return (received, Date().timeIntervalSince(started))
      }
      // The server closed it (the client would wait 60 s): well before that even on a loaded
      // machine.
      #expect(waited > 0.25 && waited < 30, "\(waited) s, \(received.count) bytes")
      let ok = try await server.request(
        "POST", "/v1/models/m:predict", body: #"{"instances":[[1,2]]}"#)
      #expect(ok.status == 200)
      try await server.stop()
    }

    @Test func aFloodOfOversizedBodiesIsRefusedAndServingGoesOn() async throws {
      let server = try await RunningServer([("m", try irisLike())]) { $0.maxBody = 1 << 16 }
      let port = server.port
      // 32 clients announcing 1 GB each (refused on the header), and 32 sending 1 MB chunked.
      let statuses = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
        for i in 0..<64 {
          group.addTask {
            try await HTTPClient.onThread {
              // A loaded machine may take minutes to serve 64 threads; the timeout only bounds a
              // hang.
              let fd = try HTTPClient.connect(port: port, timeout: HTTPClient.patience)
              defer { close(fd) }
              if i % 2 == 0 {
                HTTPClient.send(
                  fd,
                  Array(
                    "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n"
                      .utf8))
              } else {
                HTTPClient.send(
                  fd,
                  Array(
                    "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      .utf8))
                let chunk =
                  Array("10000\r\n".utf8) + [UInt8](repeating: 32, count: 65536)
                  + Array("\r\n".utf8)
                for _ in 0..<16 where HTTPClient.send(fd, chunk) {}
              }
              let reply = try? HTTPClient.parse(HTTPClient.receiveAll(fd, untilComplete: true))
              return (i, reply?.status ?? 0)
            }
          }
        }
        var all: [Int: Int] = [:]
        for try await (i, s) in group { all[i] = s }
        return all
      }
      // Every announced body is refused on its header with 413. A client still writing its
      // chunks when refused may see the connection reset before it reads the answer (0).
      let announced = statuses.filter { $0.key % 2 == 0 }.map(\.value)
      let chunked = statuses.filter { $0.key % 2 == 1 }.map(\.value)
      #expect(announced.count == 32 && announced.allSatisfy { $0 == 413 }, "\(announced)")
      #expect(chunked.count == 32 && chunked.allSatisfy { $0 == 413 || $0 == 0 }, "\(chunked)")
      let ok = try await server.request(
        "POST", "/v1/models/m:predict", body: #"{"instances":[[1,2]]}"#)
      #expect(ok.status == 200)
      try await server.stop()
    }

    /// Concurrent single-row requests, gathered into batches, answer exactly what each row
    /// answers alone (a wider network, so the batched product runs the blocked kernels).
    @Test func batchedAnswersEqualUnbatchedOnes() async throws {
      let features = (0..<12).map { "f\($0)" }
      var g = SplitMix(7)
      let model = try denseModel(
        features: features, classes: ["a", "b", "c"],
        weights: (0..<3).map { _ in (0..<96).map { _ in g.uniform() } },
        bias: [0.1, 0, -0.1], activation: "softmax", hidden: (96, 3))
      let server = try await RunningServer([("w", model)]) {
        $0.maxBatch = 64
        $0.maxDelayMicroseconds = 1_000_000
      }
      let rows = (0..<64).map { r in (0..<12).map { c in Float(sin(Double(r * 12 + c))) } }
      func body(_ rows: [[Float]]) -> String {
        #"{"instances":["#
          + rows.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }
          .joined(separator: ",") + #"],"probabilities":true}"#
      }
      let port = server.port
      let concurrent = try await withThrowingTaskGroup(of: (Int, String).self) { group in
        for (r, row) in rows.enumerated() {
          group.addTask {
            let reply = try await HTTPClient.request(
              port: port, "POST", "/v1/models/w:predict", body: body([row]))
            return (r, reply.body)
          }
        }
        var answers = [String](repeating: "", count: rows.count)
        for try await (r, text) in group { answers[r] = text }
        return answers
      }
      let metrics = try await server.request("GET", "/metrics").body
      let singles = metrics.components(separatedBy: "\n").first {
        $0.hasPrefix(#"mlpc_batch_rows_bucket{model="w",le="1.0"}"#)
      }
      let count = metrics.components(separatedBy: "\n").first {
        $0.hasPrefix(#"mlpc_batch_rows_count{model="w"}"#)
      }
      // Fewer forward passes than requests: they were batched.
      #expect(
        Int(count?.split(separator: " ").last ?? "") ?? 64 < 64, "\(singles ?? "") \(count ?? "")")
      try await server.stop()
      let alone = try await RunningServer([("w", model)]) { $0.maxBatch = 64 }
      for (r, row) in rows.enumerated() {
        let reply = try await alone.request("POST", "/v1/models/w:predict", body: body([row]))
        #expect(reply.body == concurrent[r])
      }
      // And all 64 rows in one request.
      let together = try await alone.request("POST", "/v1/models/w:predict", body: body(rows))
      let parts = (together.json["predictions"] as? [[String: Any]] ?? []).map {
        $0["class"] as? String
      }
      #expect(parts.count == 64)
      try await alone.stop()
    }

    @Test func aStopWaitsForRequestsInFlight() async throws {
      // A request waits up to a second in the batcher for others to join it.
      let server = try await RunningServer([("m", try irisLike())]) {
        $0.maxDelayMicroseconds = 1_000_000
        $0.maxBatch = 9
      }
      let port = server.port
      // The clients and the watcher are threads of their own: none waits for the concurrency
      // pool, which other tests' blocking work may hold for many seconds on a loaded machine.
      let statuses = Mutex<[Int]>([])
      let clients = DispatchGroup()
      for _ in 0..<8 {
        clients.enter()
        let thread = Thread {
          // -1: the connection was refused (sent after the stop; not a lost request).
          let status =
            (try? HTTPClient.requestBlocking(
              port: port, "POST", "/v1/models/m:predict", body: #"{"instances":[[1,2]]}"#,
              timeout: HTTPClient.patience
            ).status) ?? -1
          statuses.withLock { $0.append(status) }
          clients.leave()
        }
        thread.start()
      }
      // Stop while requests wait in the batcher, however slowly a loaded machine gets them
      // there; if every client is answered first, nothing was ever held and the test fails.
      let state = server.server.state
      let held = try await HTTPClient.onThread {
        var held = 0
        let deadline = Date().addingTimeInterval(HTTPClient.patience)
        while held == 0 && Date() < deadline {
          held = state.models[0].waitingRequests
          if held == 0 && clients.wait(timeout: .now() + .milliseconds(1)) == .success { break }
        }
        return held
      }
      #expect(held > 0)
      try await server.stop()
      let answered = try await HTTPClient.onThread {
        clients.wait()
        return statuses.withLock { $0 }
      }
      // Every request that was held got its answer; none got anything but 200.
      #expect(answered.count == 8)
      #expect(answered.filter { $0 == 200 }.count >= held, "\(held) held: \(answered)")
      #expect(answered.allSatisfy { $0 == 200 || $0 == -1 }, "\(answered)")
      // Nothing listens any more.
      #expect(throws: (any Error).self) { try HTTPClient.connect(port: port, timeout: 1) }
    }

    @Test func rowsByNameInAnyOrderOrByPosition() throws {
      let model = try irisLike()
      let served = ServedModel(
        name: "m", path: "m", model: model, maxBatch: 4, maxDelayMicroseconds: 0)
      #expect(served.categorical == [false, false] && !served.acceptsMissing)
      let rows = try served.rows(
        instances: try JSONParser.parse(Array(#"[{"y":2,"x":1},[3,4]]"#.utf8)), field: "instances",
        maxRows: 10)
      #expect(rows.count == 2 && rows.x == [1, 2, 3, 4])
      // A record with the target too, as the training table's rows have it, reads the same;
      // any other name is refused.
      let target = try #require(model.description.targets.first)
      let withTarget = try served.rows(
        instances: try JSONParser.parse(Array(#"[{"\#(target)":"a","y":2,"x":1}]"#.utf8)),
        field: "instances", maxRows: 10)
      #expect(withTarget.count == 1 && withTarget.x == [1, 2])
      #expect(throws: ServeError.self) {
        try served.rows(
          instances: try JSONParser.parse(Array(#"[{"z":0,"y":2,"x":1}]"#.utf8)),
          field: "instances", maxRows: 10)
      }
      served.stop()
    }
  }

  @Suite struct JSONParserTests {
    func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
      try JSONParser.parse(Array(text.utf8))
    }

    @Test func readsEveryKindOfValueAndKeepsNumbersAsWritten() throws {
      let v = try parse(
        #" {"a": [1, -0.5e+3, 3.0], "b": "x\"\\\/\n\u00e9\ud83d\ude00", "c": null, "d": true, "e": {}} "#
      )
      #expect(v["a"] == .array([.number("1"), .number("-0.5e+3"), .number("3.0")]))
      #expect(v["b"] == .string("x\"\\/\né😀"))
      #expect(v["c"] == .null && v["d"] == .bool(true) && v["e"] == .object([]))
      var w = JSONWriter()
      w.value(v)
      #expect(try parse(w.text) == v)
    }

    /// Strings are escaped only where JSON needs it, and the same way whether or not they
    /// need it (the writer's fast path for plain names against the general escaper).
    @Test func writesStringsAsJSONDoes() throws {
      let cases: [(String, String)] = [
        ("setosa", #""setosa""#), ("", #""""#), ("Adélie 🐧", #""Adélie 🐧""#),
        ("a\"b", #""a\"b""#), (#"a\b"#, #""a\\b""#), ("a\nb\t", #""a\nb\t""#),
        ("\u{1}\u{7F}", #""\u0001\#u{7F}""#),
      ]
      for (value, text) in cases {
        var w = JSONWriter()
        w.string(value)
        #expect(w.text == text, "\(value)")
        #expect(try parse(w.text) == .string(value))
      }
    }

    @Test func saysWhereMalformedTextGoesWrong() {
      let cases: [(String, Int, String)] = [
        ("{\"a\":1,}", 7, "quoted member name"), ("[1 2]", 3, "',' or ']'"),
        ("01", 1, "start with 0"),
        ("-", 1, "digit"), ("1.", 2, "after '.'"), ("1e", 2, "exponent"),
        ("\"abc", 4, "unterminated"),
        ("\"\\x\"", 2, "unknown escape"), ("\"\\ud800\"", 7, "lone surrogate"),
        ("tru", 0, "unexpected"),
        ("{} x", 3, "after the value"), ("", 0, "end of the body"),
      ]
      for (text, offset, phrase) in cases {
        do {
          _ = try parse(text)
          Issue.record("\(text) parsed")
        } catch {
          #expect(error.offset == offset && error.message.contains(phrase), "\(text): \(error)")
        }
      }
      #expect(throws: JSONSyntaxError.self) {
        try JSONParser.parse(
          Array(String(repeating: "[", count: 65).utf8)
            + Array(String(repeating: "]", count: 65).utf8))
      }
      // Not UTF-8, with and without an escape before it: located at the string's first byte.
      for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0x5C, 0x6E, 0xFF, 0x22]] {
        do {
          _ = try JSONParser.parse(bytes)
          Issue.record("\(bytes) parsed")
        } catch {
          #expect(error.offset == 1 && error.message.contains("UTF-8"), "\(error)")
        }
      }
      let deep = String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
      #expect((try? parse(deep)) != nil)
    }
  }
#endif

#if Serve
  @Suite struct BatcherTests {
    /// Rows batched with others answer bit for bit what they answer alone, for several widths
    /// and activations (every forward pass runs the plan's full batch, zero rows padding it).
    @Test(arguments: [
      (7, 33, "tanh"), (12, 96, "relu"), (3, 100, "gelu"), (30, 17, "sigmoid"), (5, 256, "elu"),
    ])
    func batchedRowsEqualRowsAlone(features: Int, hidden: Int, activation: String) async throws {
      var g = SplitMix(UInt64(features * 1000 + hidden))
      let model = try denseModel(
        features: (0..<features).map { "f\($0)" }, classes: ["a", "b", "c", "d"],
        weights: (0..<4).map { _ in (0..<hidden).map { _ in g.uniform() } },
        bias: [0.1, 0, -0.1, 0.2], activation: "softmax", hidden: (hidden, 11),
        hiddenActivation: activation)
      let batcher = Batcher(model, maxBatch: 32, maxDelayMicroseconds: 0)
      let rows = 45
      let x = (0..<rows * features).map { Float(sin(Double($0) * 0.7)) * 2 }
      let together = await batcher.run(x, rows: rows)
      for r in 0..<rows {
        let alone = await batcher.run(Array(x[r * features..<(r + 1) * features]), rows: 1)
        #expect(
          alone.map(\.bitPattern) == together[r * 4..<(r + 1) * 4].map(\.bitPattern), "row \(r)")
      }
      batcher.stop()
    }

    /// Threads past the number of predictors (one per core) call the inline path at once: each
    /// answer is its own row's, bit for bit (a predictor used by two threads at once would mix
    /// rows), the calls that find every predictor in use come back nil for the queue, and after
    /// `stop()` none runs inline.
    @Test func theInlinePathLendsEachPredictorToOneThreadAtATime() throws {
      var g = SplitMix(5)
      let model = try denseModel(
        features: (0..<6).map { "f\($0)" }, classes: ["a", "b", "c"],
        weights: (0..<3).map { _ in (0..<40).map { _ in g.uniform() } },
        bias: [0.1, 0, -0.1], activation: "softmax", hidden: (40, 3))
      let batcher = Batcher(model, maxBatch: 16, maxDelayMicroseconds: 0)
      let reference = Predictor(model, batchSize: 1)
      let rows = 64
      let x = (0..<rows * 6).map { Float(cos(Double($0) * 0.37)) * 3 }
      let expected = (0..<rows).map { r in
        Array(reference.run(Array(x[r * 6..<(r + 1) * 6]), rows: 1)).map(\.bitPattern)
      }
      let threads = 2 * ProcessInfo.processInfo.activeProcessorCount + 2
      let results = Mutex(
        [(answered: Int, wrong: Int, declined: Int)](
          repeating: (0, 0, 0), count: threads))
      DispatchQueue.concurrentPerform(iterations: threads) { t in
        var tally = (answered: 0, wrong: 0, declined: 0)
        for k in 0..<2000 {
          let r = (t * 7 + k) % rows
          guard let out = batcher.now(Array(x[r * 6..<(r + 1) * 6]), rows: 1) else {
            tally.declined += 1
            continue
          }
          tally.answered += 1
          if out.map(\.bitPattern) != expected[r] { tally.wrong += 1 }
        }
        results.withLock { $0[t] = tally }
      }
      let all = results.withLock { $0 }
      #expect(all.map(\.wrong).reduce(0, +) == 0, "\(all)")
      #expect(all.map(\.answered).reduce(0, +) > 0, "\(all)")
      batcher.stop()
      #expect(batcher.now(Array(x[0..<6]), rows: 1) == nil)
    }
  }
#endif

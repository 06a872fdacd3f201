// `mlpc serve`: the routes (Open Inference Protocol v2, records by column name on v1, MLflow's
// scoring format on /invocations, health, metrics, the OpenAPI document), bearer tokens, body
// limits, one access-log line per request, and a graceful stop (SIGTERM/SIGINT: stop accepting,
// finish what is in flight within the grace period, exit 0) on Hummingbird and
// swift-service-lifecycle.

#if Serve
  import Foundation
  import Hummingbird
  import Logging
  import MLPCore
  import NIOCore
  import NIOPosix
  import ServiceLifecycle
  import HummingbirdCore
  import Synchronization

  /// Makes NIO's event loops run Swift concurrency's tasks too, so a request's handler runs on
  /// the thread that read it instead of waking another (call before any task starts; false if
  /// it is too late). A request then costs one thread, not two.
  public func runTasksOnEventLoops() -> Bool {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
  }

  /// How the server listens and what it accepts.
  public struct ServeConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Seconds given to requests in flight after SIGTERM/SIGINT.
    public var grace = 10.0
    public var maxBatch = 64
    public var maxDelayMicroseconds = 0
    public var maxRows = 10_000
    public var maxBody = 8 << 20
    /// Seconds a connection may stay silent (mid-request or idle) before it is closed.
    public var readTimeout = 30.0
    /// Required as `Authorization: Bearer ...` on every route but health, when set.
    public var token: String?
    /// One log line per request on standard error.
    public var accessLog = true
    /// Answers a prediction on the thread that read it, in the connection's pipeline, when no
    /// request waits for its model and no batching delay is asked for (`FastLane`); off, every request goes
    /// through Hummingbird's responder. The answers are the same (tested).
    public var fastLane = true

    public init() {}
  }

  /// A route: method and path template, as openapi.yaml writes them.
  public struct Route: Hashable, Sendable {
    public var method: String
    public var path: String
    /// Answered without a token.
    public var open: Bool
  }

  /// The server's routes, in openapi.yaml's order (a test checks the two agree).
  public let serveRoutes: [Route] = [
    Route(method: "GET", path: "/v2/health/live", open: true),
    Route(method: "GET", path: "/v2/health/ready", open: true),
    Route(method: "GET", path: "/v2", open: false),
    Route(method: "GET", path: "/v2/models/{name}", open: false),
    Route(method: "GET", path: "/v2/models/{name}/ready", open: false),
    Route(method: "POST", path: "/v2/models/{name}/infer", open: false),
    Route(method: "POST", path: "/v1/models/{name}:predict", open: false),
    Route(method: "POST", path: "/invocations", open: false),
    Route(method: "GET", path: "/ping", open: true),
    Route(method: "GET", path: "/health", open: true),
    Route(method: "GET", path: "/openapi.json", open: true),
    Route(method: "GET", path: "/metrics", open: false),
  ]

  /// A segment of a route's path template.
  enum TemplateSegment: Sendable {
    case literal([UInt8])
    /// `{name}`: a model's name.
    case name
    /// `{name}:predict`.
    case nameThenPredict
  }

  let predictSuffix = Array(":predict".utf8)

  /// Each route's path template, split into segments once.
  let routeTemplates: [[TemplateSegment]] = serveRoutes.map { route in
    route.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
      switch $0 {
      case "{name}": .name
      case "{name}:predict": .nameThenPredict
      default: .literal(Array($0.utf8))
      }
    }
  }

  /// The models, limits and metrics every request sees.
  public final class ServeState: Sendable {
    public let models: [ServedModel]
    public let configuration: ServeConfiguration
    public let metrics: ServeMetrics
    let byName: [String: ServedModel]
    let logger: Logger
    let openAPI: String
    let answeredNow = Atomic<Int>(0)

    /// Requests answered in the fast lane (`FastLane`), not by Hummingbird's responder.
    public var fastLaneAnswers: Int { answeredNow.load(ordering: .relaxed) }

    public init(models: [ServedModel], metrics: ServeMetrics, configuration: ServeConfiguration) {
      self.models = models
      self.metrics = metrics
      self.configuration = configuration
      byName = Dictionary(models.map { ($0.name, $0) }) { a, _ in a }
      var logger = Logger(label: "mlpc.serve")
      logger.logLevel = configuration.accessLog ? .info : .warning
      self.logger = logger
      openAPI = OpenAPIDocument.json
    }
  }

  /// Answers every request: finds the route, checks the token, reads the body within its limit,
  /// and turns every refusal into a JSON error with its status.
  public struct ServeResponder: HTTPResponder {
    public typealias Context = BasicRequestContext
    let state: ServeState

    public init(state: ServeState) { self.state = state }

    public func respond(to request: Request, context: Context) async throws -> Response {
      let start = ContinuousClock.now
      var request = request
      var route = "unmatched"
      var response: Response
      do {
        response = try await handle(&request, route: &route)
      } catch let error as ServeError {
        response = Self.error(error)
      } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
        response = Self.error(ServeError(413, bodyLimitMessage, field: nil))
      } catch {
        response = Self.error(ServeError(400, "the request could not be read: \(error)"))
      }
      record(
        method: request.method.rawValue, path: request.uri.path, route: route,
        status: response.status.code, duration: ContinuousClock.now - start)
      return response
    }

    /// Counts an answered request in the metrics and writes its access-log line.
    func record(method: String, path: String, route: String, status: Int, duration: Duration) {
      state.metrics.request(route: route, status: status, duration: duration)
      if state.configuration.accessLog {
        let micros =
          duration.components.seconds * 1_000_000
          + duration.components.attoseconds / 1_000_000_000_000
        state.logger.info(
          "request",
          metadata: [
            "method": "\(method)",
            "path": "\(safeText(path, limit: 200))",
            "route": "\(route)",
            "status": "\(status)",
            "us": "\(micros)",
          ])
      }
    }

    var bodyLimitMessage: String {
      "the body is larger than the server takes (--max-body \(state.configuration.maxBody) bytes)"
    }

    static func json(_ status: Int, _ text: String) -> Response {
      Reply.json(status, text).response
    }

    static func error(_ e: ServeError) -> Response { Reply.error(e).response }

    /// Constant-time comparison of the presented token with the server's.
    static func tokenMatches(_ header: String?, _ token: String) -> Bool {
      guard let header, header.hasPrefix("Bearer ") else { return false }
      let given = Array(header.utf8.dropFirst(7))
      let wanted = Array(token.utf8)
      var difference = given.count ^ wanted.count
      for i in 0..<wanted.count {
        difference |= Int(wanted[i] ^ (i < given.count ? given[i] : 0))
      }
      return difference == 0
    }

    /// The request's path as sent, without its query: what `request.uri.path` gives for the
    /// usual origin-form target, without parsing the target as a URL on every request.
    static func path(of request: Request) -> String {
      guard let target = request.head.path, target.utf8.first == UInt8(ascii: "/") else {
        return request.uri.path
      }
      guard
        let end = target.utf8.firstIndex(where: {
          $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#")
        })
      else { return target }
      return String(target[..<end])
    }

    /// The route for a method and path, with the `{name}` segment, or a 404/405. Compares bytes
    /// against the templates split once (`routeTemplates`): it runs on every request.
    static func match(_ method: String, _ path: String) throws(ServeError) -> (Route, String?) {
      let bytes = Array(path.utf8)
      let parts = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        .dropFirst()
      var allowed: [String] = []
      routes: for (route, template) in zip(serveRoutes, routeTemplates) {
        guard template.count == parts.count else { continue }
        var name: ArraySlice<UInt8>?
        for (t, p) in zip(template, parts) {
          switch t {
          case .name:
            guard !p.isEmpty else { continue routes }
            name = p
          case .nameThenPredict:
            guard p.count > predictSuffix.count,
              p.suffix(predictSuffix.count).elementsEqual(predictSuffix)
            else { continue routes }
            name = p.dropLast(predictSuffix.count)
          case .literal(let l):
            guard l.elementsEqual(p) else { continue routes }
          }
        }
        guard route.method == method else {
          allowed.append(route.method)
          continue
        }
        guard let name else { return (route, nil) }
        let text = String(decoding: name, as: UTF8.self)
        return (
          route, name.contains(UInt8(ascii: "%")) ? text.removingPercentEncoding ?? text : text
        )
      }
      if !allowed.isEmpty {
        var e = ServeError(
          405, "\(method) is not allowed here; use \(allowed.joined(separator: " or "))")
        e.allow = allowed
        throw e
      }
      throw ServeError(404, "no route \(safeText(path, limit: 100)); see GET /openapi.json")
    }

    func model(_ name: String?) throws(ServeError) -> ServedModel {
      guard let name, let m = state.byName[name] else {
        let known = state.models.map(\.name)
        let hint = nearestName(name ?? "", in: known).map { "; did you mean '\($0)'?" } ?? ""
        throw ServeError(
          404,
          "no model '\(safeText(name ?? "", limit: 80))'\(hint) (serving: \(known.joined(separator: ", ")))"
        )
      }
      return m
    }

    /// The body as JSON, within --max-body, holding at most the values of --max-rows rows of
    /// `model` (and the request's few other members): a parsed value takes far more memory
    /// than its text, so this bounds what a request can make the server hold.
    func body(_ request: inout Request, for model: ServedModel) async throws -> JSONValue {
      let limit = state.configuration.maxBody
      if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
        throw ServeError(413, bodyLimitMessage)
      }
      let buffer = try await request.body.collect(upTo: limit)
      return try parse(Array(buffer.readableBytesView), for: model)
    }

    /// A whole body's bytes as JSON (see `body(_:for:)`).
    func parse(_ bytes: [UInt8], for model: ServedModel) throws(ServeError) -> JSONValue {
      if bytes.isEmpty { throw ServeError.bad("the body is empty; send a JSON object") }
      let rows = state.configuration.maxRows
      let values = rows.multipliedReportingOverflow(by: model.features.count + 2)
      do {
        return try JSONParser.parse(
          bytes,
          maximumValues: values.overflow
            ? .max : values.partialValue + 4 * model.features.count + 64)
      } catch {
        if error.tooManyValues {
          throw ServeError(
            413,
            "the body holds more values than \(rows) rows of model '\(model.name)' (--max-rows)")
        }
        throw ServeError.bad(error.description)
      }
    }

    /// The members of a body object, each of which must be among `known`.
    static func members(_ body: JSONValue, known: [String]) throws(ServeError) {
      guard case .object(let members) = body else {
        throw ServeError.bad("the body must be a JSON object, found \(body.kind)")
      }
      for (key, _) in members where !known.contains(key) {
        let hint = nearestName(key, in: known).map { "; did you mean '\($0)'?" } ?? ""
        throw ServeError.bad(
          "unknown member '\(safeText(key, limit: 60))'\(hint) (expected: \(known.joined(separator: ", ")))",
          field: key)
      }
    }

    func handle(_ request: inout Request, route routeName: inout String) async throws -> Response {
      let (route, name) = try Self.match(request.method.rawValue, Self.path(of: request))
      routeName = route.path
      try authorize(route, request.headers[.authorization])
      let maxRows = state.configuration.maxRows
      switch route.path {
      case "/v2/health/live": return Self.json(200, #"{"live":true}"#)
      case "/v2/health/ready": return Self.json(200, #"{"ready":true}"#)
      case "/ping", "/health": return Self.json(200, #"{"status":"ok"}"#)
      case "/v2":
        var w = JSONWriter()
        w.raw(#"{"name":"mlpc","version":"#)
        w.string(mlpcVersion)
        w.raw(#","extensions":[],"models":["#)
        for (k, m) in state.models.enumerated() {
          if k > 0 { w.raw(",") }
          w.string(m.name)
        }
        w.raw("]}")
        return Self.json(200, w.text)
      case "/v2/models/{name}": return Self.json(200, try model(name).metadataJSON)
      case "/v2/models/{name}/ready":
        var w = JSONWriter()
        w.raw("{")
        w.key("name")
        w.string(try model(name).name)
        w.raw(#","ready":true}"#)
        return Self.json(200, w.text)
      case "/openapi.json": return Self.json(200, state.openAPI)
      case "/metrics":
        var buffer = ByteBuffer()
        buffer.writeString(state.metrics.text())
        return Response(
          status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
          body: .init(byteBuffer: buffer))
      // The prediction routes: /v2/models/{name}/infer, /v1/models/{name}:predict, /invocations.
      default:
        let m = try self.model(
          for: route, name: name, query: request.uri.queryParameters.get("model"))
        try Self.checkContentType(route, request.headers[.contentType])
        let work = try Self.work(
          route, model: m, body: try await body(&request, for: m), maxRows: maxRows)
        let y = await m.predict(work.rows.x, rows: work.rows.count)
        return Self.json(200, try work.reply(y))
      }
    }

    /// A token, when the server has one, for every route but the open ones.
    func authorize(_ route: Route, _ authorization: String?) throws(ServeError) {
      if let token = state.configuration.token, !route.open,
        !Self.tokenMatches(authorization, token)
      {
        throw ServeError(401, "this server needs 'Authorization: Bearer <token>'")
      }
    }

    /// The model a prediction route names (`/invocations`: the only one, or `?model=`).
    func model(for route: Route, name: String?, query: String?) throws(ServeError) -> ServedModel {
      guard route.path == "/invocations" else { return try model(name) }
      if let query { return try model(query) }
      guard state.models.count == 1 else {
        throw ServeError.bad(
          "\(state.models.count) models are served; name one: /invocations?model=NAME (\(state.models.map(\.name).joined(separator: ", ")))"
        )
      }
      return state.models[0]
    }

    /// `/invocations` takes JSON only.
    static func checkContentType(_ route: Route, _ type: String?) throws(ServeError) {
      if route.path == "/invocations", let type, !type.lowercased().contains("json") {
        throw ServeError(
          415, "send JSON (Content-Type: application/json), found '\(safeText(type, limit: 60))'")
      }
    }

    /// A prediction's rows, read from its body, and how its answer is written.
    struct Work {
      var rows: ServedModel.Rows
      var reply: ([Float]) throws(ServeError) -> String
    }

    /// Reads a prediction route's body: its rows and its options.
    static func work(_ route: Route, model m: ServedModel, body: JSONValue, maxRows: Int)
      throws(ServeError) -> Work
    {
      switch route.path {
      case "/v2/models/{name}/infer":
        try Self.members(body, known: ["id", "inputs", "outputs", "parameters"])
        guard let inputs = body["inputs"] else {
          throw ServeError.bad("the body needs 'inputs', an array of tensors", field: "inputs")
        }
        var id: String?
        if let v = body["id"] {
          guard case .string(let s) = v else {
            throw ServeError.bad("'id' must be a string", field: "id")
          }
          id = s
        }
        let outputs = try m.requestedOutputs(body)
        let rows = try m.rows(inputs: inputs, maxRows: maxRows)
        return Work(rows: rows) { y throws(ServeError) in
          try m.inferJSON(y, rows: rows.count, outputs: outputs, id: id)
        }
      case "/v1/models/{name}:predict":
        try Self.members(body, known: ["instances", "probabilities"])
        var options = ReplyOptions()
        if let p = body["probabilities"] {
          guard case .bool(let b) = p else {
            throw ServeError.bad("'probabilities' must be true or false", field: "probabilities")
          }
          guard b == false || m.reading.classes != nil else {
            throw ServeError.bad(
              "model '\(m.name)' is a regression model: it has no class probabilities",
              field: "probabilities")
          }
          options.probabilities = b
        }
        guard let instances = body["instances"] else {
          throw ServeError.bad(
            "the body needs 'instances', an array of rows (objects of features by name)",
            field: "instances")
        }
        let rows = try m.rows(instances: instances, field: "instances", maxRows: maxRows)
        return Work(rows: rows) { y throws(ServeError) in
          try m.predictionsJSON(y, rows: rows.count, options: options)
        }
      default:  // "/invocations"
        let formats = ["dataframe_split", "dataframe_records", "instances", "inputs"]
        try Self.members(body, known: formats + ["params"])
        let given = formats.filter { body[$0] != nil }
        guard given.count == 1 else {
          throw ServeError.bad(
            given.isEmpty
              ? "the body needs one of \(formats.joined(separator: ", "))"
              : "the body has \(given.joined(separator: " and ")); send one")
        }
        let rows: ServedModel.Rows
        switch given[0] {
        case "dataframe_split":
          rows = try m.rows(
            split: body["dataframe_split"]!, field: "dataframe_split", maxRows: maxRows)
        case "inputs":
          if case .object(let columns) = body["inputs"]! {
            rows = try m.rows(
              split: .object([
                ("columns", .array(columns.map { .string($0.0) })),
                ("data", try Self.transpose(columns.map(\.1))),
              ]), field: "inputs", maxRows: maxRows)
          } else {
            rows = try m.rows(instances: body["inputs"]!, field: "inputs", maxRows: maxRows)
          }
        default:
          rows = try m.rows(instances: body[given[0]]!, field: given[0], maxRows: maxRows)
        }
        return Work(rows: rows) { y throws(ServeError) in
          try m.predictionsJSON(y, rows: rows.count, options: ReplyOptions())
        }
      }
    }

    /// Columns of values (MLflow's `inputs` as an object) as rows.
    static func transpose(_ columns: [JSONValue]) throws(ServeError) -> JSONValue {
      var lists: [[JSONValue]] = []
      for (j, c) in columns.enumerated() {
        guard case .array(let items) = c else {
          throw ServeError.bad("each column of 'inputs' must be an array", field: "inputs[\(j)]")
        }
        lists.append(items)
      }
      guard let count = lists.first?.count, lists.allSatisfy({ $0.count == count }) else {
        throw ServeError.bad(
          "the columns of 'inputs' must all have the same length", field: "inputs")
      }
      return .array((0..<count).map { r in .array(lists.map { $0[r] }) })
    }

  }

  /// A running server: `run` serves until SIGTERM/SIGINT or `shutdown()`.
  public final class InferenceServer: Sendable {
    public let state: ServeState
    private let group: ServiceGroup

    /// `onRunning` gets the bound port (useful with port 0).
    public init(
      state: ServeState, signals: Bool = true, onRunning: @escaping @Sendable (Int) -> Void
    ) {
      self.state = state
      let c = state.configuration
      var quiet = Logger(label: "mlpc.serve.lifecycle")
      quiet.logLevel = .warning
      let responder = ServeResponder(state: state)
      let http1 = HTTP1Channel.Configuration(
        idleTimeout: .milliseconds(Int64(c.readTimeout * 1000)))
      let app = Application(
        responder: responder,
        server: HTTPServerBuilder { general in
          ServeChannel(
            http1: HTTP1Channel(responder: general, configuration: http1), lane: responder)
        },
        configuration: .init(address: .hostname(c.host, port: c.port), serverName: nil),
        onServerRunning: { channel in onRunning(channel.localAddress?.port ?? 0) },
        logger: quiet)
      var configuration = ServiceGroupConfiguration(
        services: [app], gracefulShutdownSignals: signals ? [.sigterm, .sigint] : [],
        logger: quiet)
      configuration.maximumGracefulShutdownDuration = .milliseconds(Int64(c.grace * 1000))
      group = ServiceGroup(configuration: configuration)
    }

    /// Serves until stopped; then stops every model's batcher.
    public func run() async throws {
      defer { for m in state.models { m.stop() } }
      try await group.run()
    }

    /// Stops accepting, lets requests in flight finish (within the grace period), then `run`
    /// returns.
    public func shutdown() async { await group.triggerGracefulShutdown() }
  }
#endif

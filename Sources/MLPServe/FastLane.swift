// The fast lane: a prediction answered in the connection's pipeline, on the event-loop thread
// that read it, without the hand-over to Hummingbird's request task and back. The request is
// gathered (head and a body of announced length), read, run through its model when the model is
// idle (`ServedModel.predictNow`) and answered through the same responder code as every other
// request (routes, token, body limits, errors, metrics, access log). What it cannot answer now
// (a busy model, a batching delay, a chunked or oversized body, a query string) it hands on to
// Hummingbird unchanged; once it has handed a request on, it hands on every request of that
// connection until that one is answered, so answers leave in the order of their requests.
//
// It sits after Hummingbird's connection-state handler, which so sees every request and every
// answer: idle and read timeouts, keep-alive and a graceful stop's closing of idle connections
// work as for any request.

#if Serve
  import Foundation
  import HTTPTypes
  import Hummingbird
  import HummingbirdCore
  import Logging
  import NIOCore
  import NIOHTTPTypes

  /// An answer's status, JSON text and headers other than Content-Type and Content-Length.
  struct Reply {
    var status: Int
    var text: String
    var extra: HTTPFields = [:]

    static func json(_ status: Int, _ text: String) -> Reply { Reply(status: status, text: text) }

    static func error(_ e: ServeError) -> Reply {
      var reply = json(e.status, e.json)
      if e.status == 401 { reply.extra[.wwwAuthenticate] = "Bearer" }
      if !e.allow.isEmpty { reply.extra[.allow] = e.allow.joined(separator: ", ") }
      return reply
    }

    var body: ByteBuffer { ByteBuffer(string: text) }

    var head: HTTPResponse {
      var fields: HTTPFields = [
        .contentType: "application/json", .contentLength: String(text.utf8.count),
      ]
      fields.append(contentsOf: extra)
      return HTTPResponse(status: .init(code: status), headerFields: fields)
    }

    var response: Response {
      Response(status: head.status, headers: head.headerFields, body: .init(byteBuffer: body))
    }
  }

  /// The `Date` header's text (RFC 9110's IMF-fixdate, as Hummingbird sends it), made once a
  /// second.
  struct HTTPDate {
    private var second: time_t = -1
    private var text = ""

    mutating func now() -> String {
      let t = time(nil)
      if t != second {
        second = t
        text = Self.text(t)
      }
      return text
    }

    static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = [
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    static func text(_ t: time_t) -> String {
      var t = t
      var parts = tm()
      gmtime_r(&t, &parts)
      func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
      return
        "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
  }

  extension ServeResponder {
    /// A prediction answered on this thread, or nil when it has to wait for its model (the
    /// model is busy, or the rows do not fit one forward pass): then `respond` answers it.
    /// `path` has no query.
    func answerNow(path: String, contentType: String?, authorization: String?, body: [UInt8])
      -> Reply?
    {
      let start = ContinuousClock.now
      var route = "unmatched"
      let reply: Reply
      do throws(ServeError) {
        let (r, name) = try Self.match("POST", path)
        route = r.path
        try authorize(r, authorization)
        let m = try model(for: r, name: name, query: nil)
        try Self.checkContentType(r, contentType)
        let work = try Self.work(
          r, model: m, body: try parse(body, for: m), maxRows: state.configuration.maxRows)
        guard let y = m.predictNow(work.rows.x, rows: work.rows.count) else { return nil }
        reply = .json(200, try work.reply(y))
      } catch {
        reply = .error(error)
      }
      record(
        method: "POST", path: path, route: route, status: reply.status,
        duration: ContinuousClock.now - start)
      state.answeredNow.add(1, ordering: .relaxed)
      return reply
    }
  }

  /// Answers predictions in the pipeline when it can (see the top of this file).
  final class FastLane: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// A request being gathered.
    private struct Gathering {
      var head: HTTPRequest
      var path: String
      var close: Bool
      var body: [UInt8]
    }

    private let responder: ServeResponder
    private var gathering: Gathering?
    /// Requests handed on to Hummingbird and not yet answered.
    private var handedOn = 0
    private var unflushed = false
    private var date = HTTPDate()

    init(responder: ServeResponder) { self.responder = responder }

    /// The request's path and whether it asks to close the connection, if the fast lane may
    /// take it: a POST of a body of announced length within the limit to a path without a query,
    /// with no batching delay configured.
    private func takes(_ head: HTTPRequest) -> (path: String, close: Bool)? {
      let c = responder.state.configuration
      guard c.fastLane, c.maxDelayMicroseconds == 0, head.method == .post,
        let target = head.path, target.utf8.first == UInt8(ascii: "/"),
        !target.utf8.contains(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }),
        head.headerFields[.transferEncoding] == nil, head.headerFields[.expect] == nil,
        let text = head.headerFields[.contentLength], let length = Int(text),
        (0...c.maxBody).contains(length)
      else { return nil }
      let close = head.headerFields[.connection]?.lowercased().contains("close") ?? false
      return (target, close)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      switch unwrapInboundIn(data) {
      case .head(let head):
        if handedOn == 0, let (path, close) = takes(head) {
          gathering = Gathering(head: head, path: path, close: close, body: [])
          return
        }
        handedOn += 1
      case .body(let chunk):
        if gathering != nil {
          gathering!.body.append(contentsOf: chunk.readableBytesView)
          return
        }
      case .end:
        if let request = gathering {
          gathering = nil
          answer(request, context: context)
          return
        }
      }
      context.fireChannelRead(data)
    }

    private func answer(_ request: Gathering, context: ChannelHandlerContext) {
      guard
        request.body.count <= responder.state.configuration.maxBody,
        let reply = responder.answerNow(
          path: request.path, contentType: request.head.headerFields[.contentType],
          authorization: request.head.headerFields[.authorization], body: request.body)
      else {
        // Hummingbird answers it, as if the fast lane were not there.
        handedOn += 1
        context.fireChannelRead(wrapInboundOut(.head(request.head)))
        if !request.body.isEmpty {
          context.fireChannelRead(wrapInboundOut(.body(ByteBuffer(bytes: request.body))))
        }
        context.fireChannelRead(wrapInboundOut(.end(nil)))
        return
      }
      var head = reply.head
      head.headerFields[.date] = date.now()
      context.write(wrapOutboundOut(.head(head)), promise: nil)
      context.write(wrapOutboundOut(.body(reply.body)), promise: nil)
      if request.close {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
          bound.value.close(promise: nil)
        }
        unflushed = false
      } else {
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        unflushed = true
      }
    }

    /// Answers to the requests of one read leave together.
    func channelReadComplete(context: ChannelHandlerContext) {
      if unflushed {
        unflushed = false
        context.flush()
      }
      context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
      if case .end = unwrapOutboundIn(data) { handedOn = max(0, handedOn - 1) }
      context.write(data, promise: promise)
    }
  }

  /// Hummingbird's HTTP/1.1 channel with the raw lane in front of it and the fast lane after its
  /// connection-state handler.
  struct ServeChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let http1: HTTP1Channel
    let lane: ServeResponder

    var responder: HTTPChannelHandler.Responder { http1.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
      let lane = lane
      return http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
        let pipeline = channel.pipeline.syncOperations
        let state = try pipeline.handler(type: HTTPConnectionStateHandler.self)
        try pipeline.addHandler(FastLane(responder: lane), position: .after(state))
        try pipeline.addHandler(RawLane(responder: lane, logger: logger), position: .first)
        return value
      }
    }

    func handle(value: Value, logger: Logger) async {
      await http1.handle(value: value, logger: logger)
    }
  }
#endif

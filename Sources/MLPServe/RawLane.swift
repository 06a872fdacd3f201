// The raw lane: a prediction read and answered from the connection's bytes, before NIO's HTTP
// decoder, its conversion to HTTP types and Hummingbird's handlers (on one connection at a time
// those took about a fifth of the server's time for a single-row prediction). It takes only
// requests it reads without doubt: `POST <path> HTTP/1.1` with a path and no query, headers of
// plain `name: value` lines, one Content-Length within the body limit, no Transfer-Encoding,
// Expect or Upgrade, the whole head within 16 KiB; and only while its model is idle
// (`ServeResponder.answerNow`, the same code as every other answer). Anything else — another
// method, a query, a header it does not take, a busy model, a client that stops reading its
// answers — hands the connection, from that request on and for good, to the HTTP pipeline behind
// it, which sees the bytes exactly as they came (a request is handed on whole, so the decoder
// starts at its first byte); answers so leave in the order of their requests.
//
// While it answers, the connection's idle and read timeout and a graceful stop are its own:
// Hummingbird's connection-state handler (which would see no request and close the connection
// after the timeout) is out of the pipeline until the lane hands on, and is put back then. The
// lane closes a connection silent for the read timeout, and on a graceful stop closes it at
// once unless part of a request has arrived, which it hands on to be finished.

#if Serve
  import Foundation
  import HTTPTypes
  import HummingbirdCore
  import Logging
  import NIOCore
  import NIOHTTP1

  /// What the raw lane reads from the bytes it holds.
  enum RawRequest: Equatable {
    /// Not all of it yet.
    case incomplete
    /// Not one it takes: hand the connection on.
    case handOn
    /// A request it takes, `length` bytes in all.
    case take(RawHead, length: Int)
  }

  /// The parts of a request's head the lane uses.
  struct RawHead: Equatable {
    var path: String
    var contentType: String?
    var authorization: String?
    var close = false
    var body: Range<Int>
  }

  /// Reads a request at the start of `bytes` (see the top of this file for what it takes).
  func readRawRequest(_ bytes: UnsafeRawBufferPointer, maxBody: Int) -> RawRequest {
    let headLimit = 16 << 10
    let (cr, lf, space, tab, colon) = (UInt8(13), UInt8(10), UInt8(32), UInt8(9), UInt8(58))
    // The request line.
    let post = Array("POST /".utf8)
    let scanned = min(bytes.count, post.count)
    guard bytes.prefix(scanned).elementsEqual(post.prefix(scanned)) else { return .handOn }
    if scanned < post.count { return .incomplete }
    var at = 5
    while at < bytes.count, bytes[at] != space {
      // Visible ASCII only, no query or fragment.
      let b = bytes[at]
      guard b > 32, b < 127, b != UInt8(ascii: "?"), b != UInt8(ascii: "#") else { return .handOn }
      at += 1
      if at > headLimit { return .handOn }
    }
    let version = Array(" HTTP/1.1\r\n".utf8)
    if bytes.count < at + version.count {
      return bytes[at...].elementsEqual(version.prefix(bytes.count - at)) ? .incomplete : .handOn
    }
    guard bytes[at..<at + version.count].elementsEqual(version) else { return .handOn }
    let path = String(decoding: bytes[5..<at], as: UTF8.self)
    at += version.count
    // Header lines up to the empty one.
    var head = RawHead(path: path, body: 0..<0)
    var length: Int?
    while true {
      if at >= headLimit { return .handOn }
      guard let end = (at..<min(bytes.count, headLimit)).first(where: { bytes[$0] == lf }) else {
        return bytes.count >= headLimit ? .handOn : .incomplete
      }
      guard end > at, bytes[end - 1] == cr else { return .handOn }
      if end == at + 1 {  // the empty line
        at = end + 1
        break
      }
      let line = bytes[at..<end - 1]
      at = end + 1
      guard let split = line.firstIndex(of: colon), split > line.startIndex else {
        return .handOn
      }
      // A field name is a token (no spaces; a line starting with one would be folded).
      let name = line[..<split]
      guard name.allSatisfy(isTokenByte) else { return .handOn }
      var value = line[(split + 1)...]
      guard value.allSatisfy({ $0 == tab || ($0 >= 32 && $0 != 127) }) else { return .handOn }
      while let f = value.first, f == space || f == tab { value = value.dropFirst() }
      while let l = value.last, l == space || l == tab { value = value.dropLast() }
      var text: String { String(decoding: value, as: UTF8.self) }
      switch String(decoding: name, as: UTF8.self).lowercased() {
      case "content-length":
        guard length == nil, (1...10).contains(value.count),
          value.allSatisfy({ (48...57).contains($0) }), let n = Int(text)
        else { return .handOn }
        length = n
      case "content-type":
        guard head.contentType == nil else { return .handOn }
        head.contentType = text
      case "authorization":
        guard head.authorization == nil else { return .handOn }
        head.authorization = text
      case "connection":
        let options = text.lowercased().split(separator: ",").map {
          $0.trimmingCharacters(in: .whitespaces)
        }
        if options.contains("upgrade") { return .handOn }
        if options.contains("close") { head.close = true }
      case "transfer-encoding", "expect", "upgrade": return .handOn
      default: break
      }
    }
    guard let length, length <= maxBody else { return .handOn }
    head.body = at..<at + length
    return bytes.count >= at + length ? .take(head, length: at + length) : .incomplete
  }

  /// Whether `b` may be part of a header field's name (RFC 9110's tchar).
  @inline(__always)
  func isTokenByte(_ b: UInt8) -> Bool {
    switch b {
    case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
      UInt8(ascii: "a")...UInt8(ascii: "z"):
      true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"),
      UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"),
      UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
      UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
      true
    default: false
    }
  }

  /// Answers predictions from the connection's bytes when it can (see the top of this file).
  final class RawLane: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let responder: ServeResponder
    private let logger: Logger
    /// Bytes read and not yet answered.
    private var held: ByteBuffer?
    /// The connection belongs to the HTTP pipeline behind the lane.
    private var handedOn = false
    private var unflushed = false
    private var lastRead = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private var date = HTTPDate()

    init(responder: ServeResponder, logger: Logger) {
      self.responder = responder
      self.logger = logger
    }

    private var timeout: TimeAmount {
      .nanoseconds(Int64(responder.state.configuration.readTimeout * 1e9))
    }

    private var lanes: Bool {
      let c = responder.state.configuration
      return c.fastLane && c.maxDelayMicroseconds == 0
    }

    func handlerAdded(context: ChannelHandlerContext) {
      guard lanes else {
        handedOn = true
        return
      }
      // The lane keeps the connection's time from now on.
      let pipeline = context.pipeline.syncOperations
      if let state = try? pipeline.handler(type: HTTPConnectionStateHandler.self) {
        pipeline.removeHandler(state, promise: nil)
      }
      schedule(context, in: timeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
      timer?.cancel()
      timer = nil
    }

    private func schedule(_ context: ChannelHandlerContext, in delay: TimeAmount) {
      let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
      timer = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: delay) {
        [self] in
        timer = nil
        guard !handedOn else { return }
        let due = lastRead + timeout
        if NIODeadline.now() >= due {
          bound.value.close(promise: nil)
        } else {
          schedule(bound.value, in: due - NIODeadline.now())
        }
      }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      if handedOn {
        context.fireChannelRead(data)
        return
      }
      lastRead = .now()
      var bytes = unwrapInboundIn(data)
      if held != nil {
        held!.writeBuffer(&bytes)
      } else {
        held = bytes
      }
      answerHeld(context: context)
    }

    /// Answers the whole requests held, in order; hands on at the first it cannot answer.
    private func answerHeld(context: ChannelHandlerContext) {
      let maxBody = responder.state.configuration.maxBody
      while var bytes = held, bytes.readableBytes > 0 {
        // A client that does not read its answers is left to the pipeline's back pressure.
        guard context.channel.isWritable else { return handOn(context: context) }
        let request = bytes.withUnsafeReadableBytes { readRawRequest($0, maxBody: maxBody) }
        switch request {
        case .incomplete:
          return
        case .handOn:
          return handOn(context: context)
        case .take(let head, let length):
          let body = bytes.withUnsafeReadableBytes { Array($0[head.body]) }
          guard
            let reply = responder.answerNow(
              path: head.path, contentType: head.contentType, authorization: head.authorization,
              body: body)
          else { return handOn(context: context) }
          bytes.moveReaderIndex(forwardBy: length)
          held = bytes.readableBytes > 0 ? bytes : nil
          write(reply, close: head.close, context: context)
          if head.close {
            held = nil
            return
          }
        }
      }
    }

    private func write(_ reply: Reply, close: Bool, context: ChannelHandlerContext) {
      let text = reply.text
      var buffer = context.channel.allocator.buffer(capacity: text.utf8.count + 160)
      buffer.writeStaticString("HTTP/1.1 ")
      // The reason phrase NIO's encoder writes for Hummingbird's answers.
      buffer.writeString(String(reply.status))
      buffer.writeStaticString(" ")
      buffer.writeString(HTTPResponseStatus(statusCode: reply.status).reasonPhrase)
      buffer.writeStaticString("\r\nContent-Type: application/json\r\nContent-Length: ")
      buffer.writeString(String(text.utf8.count))
      for field in reply.extra {
        buffer.writeStaticString("\r\n")
        buffer.writeString(field.name.rawName)
        buffer.writeStaticString(": ")
        buffer.writeString(field.value)
      }
      buffer.writeStaticString("\r\nDate: ")
      buffer.writeString(date.now())
      buffer.writeStaticString("\r\n\r\n")
      buffer.writeString(text)
      if close {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(buffer))).whenComplete { _ in
          bound.value.close(promise: nil)
        }
        unflushed = false
      } else {
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
        unflushed = true
      }
    }

    /// From here on the HTTP pipeline has the connection: its state handler back in place, and
    /// the bytes held passed to its decoder as they came.
    private func handOn(context: ChannelHandlerContext) {
      handedOn = true
      timer?.cancel()
      timer = nil
      let pipeline = context.pipeline.syncOperations
      if let lane = try? pipeline.handler(type: FastLane.self) {
        let state = HTTPConnectionStateHandler(
          idleTimeout: .nanoseconds(timeout.nanoseconds), logger: logger)
        try? pipeline.addHandler(state, position: .before(lane))
      }
      if let bytes = held, bytes.readableBytes > 0 {
        held = nil
        context.fireChannelRead(wrapInboundOut(bytes))
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

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
      if !handedOn, event is ChannelShouldQuiesceEvent {
        // A graceful stop: an idle connection closes now; a request begun is finished by the
        // pipeline, which then closes it.
        if let bytes = held, bytes.readableBytes > 0 {
          handOn(context: context)
        } else {
          if unflushed {
            unflushed = false
            context.flush()
          }
          context.close(promise: nil)
          return
        }
      }
      context.fireUserInboundEventTriggered(event)
    }
  }
#endif

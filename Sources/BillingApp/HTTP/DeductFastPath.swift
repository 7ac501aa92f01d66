import BillingCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// `POST /internal/v1/billing/deduct`, the gateway's call for every API call it lets
/// through, answered on the connection's event loop: the body is parsed there, the
/// deduction handed to its lane with a callback, and the lane's answer written back on the
/// same loop — no task, no async channel and no router in between (they were half the
/// server's CPU per deduction).
///
/// It answers only what it is sure to answer exactly as the router would: a request it
/// has any doubt about — another route, a query string, `Connection` or `Expect` headers,
/// a body that is not JSON or over the limit, a missing or wrong token, a field the parser
/// refuses, a ledger that cannot call back — goes on to the router untouched, so every
/// refusal of bad input is the router's own. What it answers carries what the middleware
/// would have added: the request id, `Date` and `Server`, the request metrics and log line.
///
/// Answers leave in the order the requests came: while a request passed to the router is
/// unanswered, every later one goes there too; while a deduction here waits for its lane,
/// later requests wait (held) until it is answered, and once one is held no more is read. A
/// graceful shutdown, the client's end of input or bytes the decoder refuses that come
/// meanwhile are passed on after the answer, so the connection is not closed under it.
final class DeductFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let path = "/internal/v1/billing/deduct"

    /// Starts a deduction answered through the callback (`BillingService.deduct(_:completion:)`);
    /// false when it cannot be answered that way.
    typealias Deduct = @Sendable (
        DeductionRequest, _ completion: @escaping @Sendable (Result<DeductionReceipt, BillingError>) -> Void
    ) -> Bool

    struct Settings: Sendable {
        let deduct: Deduct
        let internalTokens: [String]
        let bodyLimitBytes: Int
        let metrics: BillingMetrics
        let serverName: String
        let logger: Logger
    }

    private enum Mode {
        case idle
        /// A request for this path, its body being read.
        case collecting(HTTPRequest, ByteBuffer)
        /// The current request's parts go to the router.
        case passing
        /// A deduction waits for its lane.
        case answering
    }

    private let settings: Settings
    private var mode = Mode.idle
    /// Requests passed to the router whose answer has not ended yet.
    private var routerPending = 0
    /// Parts that came while a deduction waited, handled once it is answered.
    private var held = CircularBuffer<HTTPRequestPart>()
    private var readWanted = false
    /// The server began a graceful shutdown while a deduction here was unanswered: told on
    /// (and the connection closed) once it is answered.
    private var quiesceHeld = false
    /// What ends the connection's input — the client's half-close, or bytes the HTTP decoder
    /// refused — when it comes while a deduction here is unanswered: told on, in order, once
    /// it is answered and the requests before it are handled. Hummingbird's connection
    /// handler, told at once, would close the "idle" connection (or answer 400 first) and the
    /// deduction's answer would be lost.
    private enum InputEnd {
        case closed
        case failed(any Error)
    }
    private var inputEnds: [InputEnd] = []
    private var dateSecond = Int.min
    private var date = ""
    /// NIO's HTTP/1 response encoder, where the answer is written as finished bytes (nil in a
    /// pipeline without one: the typed parts are written instead).
    private var wire: ChannelHandlerContext?

    init(settings: Settings) { self.settings = settings }

    /// An answer written at the encoder goes straight to the socket, in order with the router's
    /// answers (both are written on this loop): the head is formatted once here instead of
    /// passing head, body and end through two codecs (~1.5 µs of the server's ~44 µs a
    /// deduction, docs/benchmarks.md, ninth pass).
    func handlerAdded(context: ChannelHandlerContext) {
        wire = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) { wire = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if isAnswering {
            held.append(part)
        } else {
            handle(part, context: context)
        }
    }

    /// Reading goes on while a deduction waits, as long as nothing is held: a client that
    /// waits for each answer (every gateway but a pipelining one) then keeps the socket
    /// registered for reading, instead of it being dropped and added again around every
    /// request (two `epoll_ctl` calls each). What is held stays within one read.
    func read(context: ChannelHandlerContext) {
        if isAnswering, !held.isEmpty {
            readWanted = true
        } else {
            context.read()
        }
    }

    /// A graceful shutdown closes idle connections at once; a deduction still waiting for
    /// its lane keeps this one open until it is answered (the router's requests likewise).
    /// So does the client's end of input.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, isAnswering || isCollecting {
            quiesceHeld = true
        } else if let event = event as? ChannelEvent, event == .inputClosed, isAnswering {
            inputEnds.append(.closed)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Held like the end of input (parts are held only while a deduction waits).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if isAnswering {
            inputEnds.append(.failed(error))
        } else {
            context.fireErrorCaught(error)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), routerPending > 0 { routerPending -= 1 }
        context.write(data, promise: promise)
    }

    private var isAnswering: Bool {
        if case .answering = mode { return true }
        return false
    }

    private var isCollecting: Bool {
        if case .collecting = mode { return true }
        return false
    }

    private func handle(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (mode, part) {
        case (.idle, .head(let head)):
            if routerPending == 0, Self.mayAnswer(head, settings: settings) {
                mode = .collecting(head, context.channel.allocator.buffer(capacity: 256))
            } else {
                pass(head, body: nil, context: context)
            }
        case (.collecting(let head, var body), .body(var chunk)):
            if body.readableBytes + chunk.readableBytes > settings.bodyLimitBytes {
                pass(head, body: body, context: context)
                context.fireChannelRead(wrapInboundOut(.body(chunk)))
                releaseQuiesce(context: context)
            } else {
                mode = .idle  // drops the buffer's second reference before writing to it
                body.writeBuffer(&chunk)
                mode = .collecting(head, body)
            }
        case (.collecting(let head, let body), .end):
            if !answer(head, body: body, context: context) {
                pass(head, body: body, context: context)
                context.fireChannelRead(wrapInboundOut(part))
                mode = .idle
                releaseQuiesce(context: context)
            }
        case (.passing, .end):
            context.fireChannelRead(wrapInboundOut(part))
            mode = .idle
        default:
            // The router's parts, and anything out of order: the router's parser errors apply.
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    /// A shutdown held for a request that went to the router after all: the router's
    /// connection handler now knows of that request and closes after answering it.
    private func releaseQuiesce(context: ChannelHandlerContext) {
        guard quiesceHeld else { return }
        quiesceHeld = false
        context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }

    /// The request goes to the router as it came.
    private func pass(_ head: HTTPRequest, body: ByteBuffer?, context: ChannelHandlerContext) {
        routerPending += 1
        mode = .passing
        context.fireChannelRead(wrapInboundOut(.head(head)))
        if let body, body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(body))) }
    }

    /// Only a plain, authorized JSON deduction within the body limit.
    static func mayAnswer(_ head: HTTPRequest, settings: Settings) -> Bool {
        guard head.method == .post, head.path == path else { return false }
        // One pass over the fields: a lookup by name would first build the fields' index.
        // A field given twice is a doubt: the router answers.
        var contentType: String?
        var authorization: String?
        var contentLength: String?
        for field in head.headerFields {
            switch field.name {
            case .connection, .expect: return false
            case .contentType:
                guard contentType == nil else { return false }
                contentType = field.value
            case .authorization:
                guard authorization == nil else { return false }
                authorization = field.value
            case .contentLength:
                guard contentLength == nil else { return false }
                contentLength = field.value
            default: continue
            }
        }
        guard let contentType, Self.isJSON(contentType),
            BearerToken.authorizes(authorization, tokens: settings.internalTokens)
        else { return false }
        if let contentLength {
            guard let bytes = Int(contentLength), bytes <= settings.bodyLimitBytes else { return false }
        }
        return true
    }

    /// Starts with `application/json` in any case (parameters may follow).
    static func isJSON(_ contentType: String) -> Bool {
        contentType.utf8.count >= 16
            && contentType.utf8.prefix(16).elementsEqual(
                "application/json".utf8,
                by: { byte, expected in
                    (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 0x20 == expected : byte == expected
                })
    }

    /// Starts the deduction; false when the router should answer instead (nothing started).
    private func answer(_ head: HTTPRequest, body: ByteBuffer, context: ChannelHandlerContext) -> Bool {
        let deduction: DeductionRequest
        do throws(BillingError) {
            let fields = try RequestFields(body: try RequestBodyReader.parse(Array(body.readableBytesView)), query: [:])
            deduction = try InternalRoutes.deduction(fields)
        } catch {
            return false
        }
        let started = ContinuousClock.now
        let requestId = RequestIds.acceptable(head.headerFields[.requestId]) ?? RequestID().description
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        mode = .answering
        let taken = settings.deduct(deduction) { result in
            loop.execute {
                let (handler, context) = bound.value
                handler.respond(result, requestId: requestId, started: started, context: context)
            }
        }
        if !taken { mode = .collecting(head, body) }
        return taken
    }

    private func respond(
        _ result: Result<DeductionReceipt, BillingError>, requestId: String, started: ContinuousClock.Instant,
        context: ChannelHandlerContext
    ) {
        let bytes: [UInt8]
        let status: HTTPResponse.Status
        switch result {
        case .success(let receipt):
            (bytes, status) = (Views.deductionBytes(receipt), .ok)
        case .failure(let error):
            if error.kind == .internalFailure {
                settings.logger.error(
                    "internal failure", metadata: ["detail": "\(String(reflecting: error))", "request_id": "\(requestId)"])
            }
            bytes = APIResponse.failureEnvelope(code: error.code, message: error.message).serializedBytes()
            status = APIResponse.status(for: error.kind)
        }
        let fields: KeyValuePairs<HTTPField.Name, String> = [
            .contentType: APIResponse.contentType, .contentLength: String(bytes.count), .requestId: requestId,
            .date: currentDate(), .server: settings.serverName,
        ]
        if let wire {
            let answer = Self.encoded(status: status, fields: fields, body: bytes, allocator: context.channel.allocator)
            wire.writeAndFlush(NIOAny(answer), promise: nil)
        } else {
            var head = HTTPFields()
            for (name, value) in fields { head.append(HTTPField(name: name, value: value)) }
            context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: head))), promise: nil)
            context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: bytes))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        let elapsed = ContinuousClock.now - started
        settings.metrics.request(route: Self.path, method: "POST", status: status.code, duration: elapsed)
        if settings.logger.logLevel <= .debug {
            let (seconds, attoseconds) = elapsed.components
            settings.logger.debug(
                "request",
                metadata: [
                    "method": "POST", "path": "\(Self.path)", "status": "\(status.code)", "request_id": "\(requestId)",
                    "ms": "\(seconds * 1_000 + attoseconds / 1_000_000_000_000_000)",
                ])
        }
        mode = .idle
        if quiesceHeld {
            // Shutting down: this was the connection's last answer.
            quiesceHeld = false
            held.removeAll()
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            releaseInputEnds(context: context)
            return
        }
        resume(context: context)
    }

    /// Handles what came meanwhile, then reads again if a read was held back.
    private func resume(context: ChannelHandlerContext) {
        var handled = false
        while !held.isEmpty, !isAnswering {
            handle(held.removeFirst(), context: context)
            handled = true
        }
        // The async channel hands reads on at read-complete.
        if handled { context.fireChannelReadComplete() }
        if isAnswering { return }
        releaseInputEnds(context: context)
        if readWanted {
            readWanted = false
            context.read()
        }
    }

    private func releaseInputEnds(context: ChannelHandlerContext) {
        let ends = inputEnds
        inputEnds.removeAll()
        for end in ends {
            switch end {
            case .closed: context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            case .failed(let error): context.fireErrorCaught(error)
            }
        }
    }

    /// The answer as NIO's encoders would write it (`HTTP1ToHTTPServerCodec`, then
    /// `HTTPResponseEncoder`): HTTP/1.1 status line, one `name: value` line a field, the body
    /// after an empty line. The values are the server's own (no CR or LF can be in them: the
    /// request id is one the fast path accepted or made).
    static func encoded(
        status: HTTPResponse.Status, fields: KeyValuePairs<HTTPField.Name, String>, body: [UInt8],
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256 + body.count)
        buffer.writeStaticString("HTTP/1.1 ")
        // As the codec converts it: NIO's own phrase where the status came without one.
        let line = HTTPResponseStatus(statusCode: status.code, reasonPhrase: status.reasonPhrase)
        buffer.writeString(String(line.code))
        buffer.writeStaticString(" ")
        buffer.writeString(line.reasonPhrase)
        buffer.writeStaticString("\r\n")
        for (name, value) in fields {
            buffer.writeString(name.rawName)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        buffer.writeBytes(body)
        return buffer
    }

    /// The `Date` header, formatted once a second per connection.
    private func currentDate() -> String {
        let second = Int(Date().timeIntervalSince1970)
        if second != dateSecond {
            dateSecond = second
            date = HTTPDate.format(secondsSinceEpoch: second)
        }
        return date
    }
}

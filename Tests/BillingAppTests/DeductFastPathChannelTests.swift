@testable import BillingApp
import BillingCore
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Synchronization
import Testing

/// `DeductFastPath` in an embedded channel, the lane replaced by callbacks the test
/// answers when it chooses, the router by a handler that answers what reaches it at once:
/// order, held reads and a graceful shutdown while a deduction waits.
@Suite("Deduct fast path in a channel: order, held requests, shutdown")
struct DeductFastPathChannelTests {
    typealias Completion = @Sendable (Result<DeductionReceipt, BillingError>) -> Void

    final class Lane: Sendable {
        let waiting = Mutex<[Completion]>([])
        func answerFirst(_ result: Result<DeductionReceipt, BillingError>) {
            let completion = waiting.withLock { $0.removeFirst() }
            completion(result)
        }
        var count: Int { waiting.withLock { $0.count } }
    }

    /// Stands in for Hummingbird's connection handling: records what reaches it, answers
    /// each request 204 at its end, and records the shutdown event.
    final class Router: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias OutboundOut = HTTPResponsePart
        var paths: [String] = []
        var quiesced = false
        var inputClosed = false
        /// False: requests wait for `answer(context:)`.
        var answersAtOnce = true
        var context: ChannelHandlerContext?

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }

        func answer() {
            guard let context else { return }
            context.write(wrapOutboundOut(.head(HTTPResponse(status: .noContent))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): paths.append(head.path ?? "")
            case .body: break
            case .end: if answersAtOnce { answer() }
            }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is ChannelShouldQuiesceEvent { quiesced = true }
            if let event = event as? ChannelEvent, event == .inputClosed { inputClosed = true }
        }
    }

    /// `front`: handlers nearer the socket (the HTTP/1 codecs, for the bytes on the wire).
    static func channel(_ lane: Lane, front: [any ChannelHandler] = []) throws -> (EmbeddedChannel, Router) {
        let settings = DeductFastPath.Settings(
            deduct: { _, completion in
                lane.waiting.withLock { $0.append(completion) }
                return true
            },
            internalTokens: ["t"], bodyLimitBytes: 1_024, metrics: BillingMetrics(), serverName: "billing-service",
            logger: Logger(label: "test"))
        let router = Router()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(front + [DeductFastPath(settings: settings), router])
        return (channel, router)
    }

    /// A channel with one deduction sent and waiting for its lane.
    static func waitingDeduction() throws -> (Lane, EmbeddedChannel, Router) {
        let lane = Lane()
        let (channel, router) = try channel(lane)
        try send(channel, DeductFastPath.path, body: deduction)
        return (lane, channel, router)
    }

    static func send(_ channel: EmbeddedChannel, _ path: String, body: String? = nil) throws {
        var fields = HTTPFields()
        fields[.authorization] = "Bearer t"
        fields[.contentType] = "application/json"
        try channel.writeInbound(HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: nil, path: path, headerFields: fields)))
        if let body { try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: body))) }
        try channel.writeInbound(HTTPRequestPart.end(nil))
    }

    static let deduction = #"{"user_id": "u1", "service_name": "passport", "count": 1}"#

    /// The lane answers the first waiting deduction OVERLOADED, and the loop runs what that set off.
    static func answerBusy(_ lane: Lane, _ channel: EmbeddedChannel) {
        lane.answerFirst(.failure(.overloaded("busy")))
        channel.embeddedEventLoop.run()
    }

    /// Statuses of the answers written so far, in order.
    static func statuses(_ channel: EmbeddedChannel) throws -> [Int] {
        var found: [Int] = []
        while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
            if case .head(let head) = part { found.append(head.status.code) }
        }
        return found
    }

    @Test("a request behind a waiting deduction reaches the router only after the deduction is answered")
    func heldBehind() throws {
        let (lane, channel, router) = try Self.waitingDeduction()
        try Self.send(channel, "/health")
        #expect(lane.count == 1)
        #expect(router.paths.isEmpty)
        #expect(try Self.statuses(channel).isEmpty)
        Self.answerBusy(lane, channel)
        #expect(router.paths == ["/health"])
        #expect(try Self.statuses(channel) == [503, 204])
    }

    /// Request fields, and whether the fast path takes a deduction that carries them.
    static let heads: [([(String, String)], Bool)] = [
        ([("Authorization", "Bearer t"), ("Content-Type", "application/json")], true),
        ([("authorization", "bearer t"), ("content-type", "Application/JSON; charset=utf-8")], true),
        ([("Authorization", "Bearer t"), ("Content-Type", "application/json"), ("Content-Length", "1024")], true),
        ([("Authorization", "Bearer t"), ("Content-Type", "application/json"), ("Content-Length", "1025")], false),
        ([("Authorization", "Bearer t"), ("Content-Type", "application/json"), ("Content-Length", "many")], false),
        ([("Authorization", "Bearer t"), ("Content-Type", "text/plain")], false),
        ([("Authorization", "Bearer t"), ("Content-Type", "application/jso")], false),
        ([("Authorization", "Bearer t"), ("Content-Type", "application/json\u{0}")], true),
        ([("Authorization", "Bearer t"), ("Content-Type", "application\u{f}json")], false),
        ([("Authorization", "Bearer t")], false),
        ([("Content-Type", "application/json")], false),
        ([("Authorization", "Bearer wrong"), ("Content-Type", "application/json")], false),
        ([("Authorization", "Bearer t"), ("Content-Type", "application/json"), ("Connection", "close")], false),
        ([("Authorization", "Bearer t"), ("Content-Type", "application/json"), ("Expect", "100-continue")], false),
        ([("Authorization", "Bearer t"), ("Content-Type", "application/json"), ("Content-Type", "application/json")], false),
        ([("Authorization", "Bearer t"), ("Authorization", "Bearer t"), ("Content-Type", "application/json")], false),
    ]

    @Test(
        "only a plain authorized JSON deduction is taken; any header in doubt leaves it to the router",
        arguments: Self.heads)
    func takes(fields: [(String, String)], taken: Bool) throws {
        var headers = HTTPFields()
        for (name, value) in fields { headers.append(HTTPField(name: try #require(HTTPField.Name(name)), value: value)) }
        let settings = DeductFastPath.Settings(
            deduct: { _, _ in true }, internalTokens: ["t"], bodyLimitBytes: 1_024, metrics: BillingMetrics(),
            serverName: "billing-service", logger: Logger(label: "test"))
        let head = HTTPRequest(method: .post, scheme: nil, authority: nil, path: DeductFastPath.path, headerFields: headers)
        #expect(DeductFastPath.mayAnswer(head, settings: settings) == taken)
        var other = head
        other.path = DeductFastPath.path + "?x=1"
        #expect(!DeductFastPath.mayAnswer(other, settings: settings))
        other = head
        other.method = .put
        #expect(!DeductFastPath.mayAnswer(other, settings: settings))
    }

    /// Counts the reads that reach the socket's end of the pipeline.
    final class ReadCounter: ChannelOutboundHandler, RemovableChannelHandler {
        typealias OutboundIn = Never
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    @Test("while a deduction waits, reading goes on until a later request is held, then resumes after the answer")
    func readsWhileWaiting() throws {
        let (lane, channel, router) = try Self.waitingDeduction()
        let counter = ReadCounter()
        try channel.pipeline.syncOperations.addHandler(counter, position: .first)
        channel.read()
        #expect(counter.reads == 1)  // nothing held: the socket stays registered for reading
        try Self.send(channel, "/health")
        channel.read()
        channel.read()
        #expect(counter.reads == 1)  // a request is held: no more is read
        Self.answerBusy(lane, channel)
        #expect(router.paths == ["/health"])
        #expect(counter.reads == 2)  // the held-back read, once the held request was handled
        #expect(try Self.statuses(channel) == [503, 204])
    }

    @Test("a client gone while its deduction waits (reading went on, so its close is seen): the answer is dropped quietly")
    func closedWhileWaiting() throws {
        let (lane, channel, router) = try Self.waitingDeduction()
        #expect(lane.count == 1)
        try channel.close().wait()
        Self.answerBusy(lane, channel)  // writes into a closed pipeline: dropped, no trap
        #expect(try Self.statuses(channel).isEmpty)
        #expect(router.paths.isEmpty)
    }

    @Test("the client's end of input while a deduction waits reaches the router after the answer and what came before it")
    func inputClosedHeld() throws {
        let (lane, channel, router) = try Self.waitingDeduction()
        try Self.send(channel, "/health")
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(!router.inputClosed)  // told now, the connection handler would close before the answer
        Self.answerBusy(lane, channel)
        #expect(router.paths == ["/health"])
        #expect(router.inputClosed)
        #expect(try Self.statuses(channel) == [503, 204])
    }

    @Test("while the router owes an answer, a deduction goes to the router too")
    func routerFirst() throws {
        let lane = Lane()
        let (channel, router) = try Self.channel(lane)
        router.answersAtOnce = false
        try Self.send(channel, "/other")
        try Self.send(channel, DeductFastPath.path, body: Self.deduction)
        #expect(lane.count == 0)
        #expect(router.paths == ["/other", DeductFastPath.path])
        router.answer()
        router.answer()
        // Both answered: the next deduction is this handler's again.
        try Self.send(channel, DeductFastPath.path, body: Self.deduction)
        #expect(lane.count == 1)
        #expect(try Self.statuses(channel) == [204, 204])
    }

    @Test("a graceful shutdown while a deduction waits: the answer is written first, then the router hears it")
    func shutdownWaits() throws {
        let (lane, channel, router) = try Self.waitingDeduction()
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!router.quiesced)
        Self.answerBusy(lane, channel)
        #expect(try Self.statuses(channel) == [503])
        #expect(router.quiesced)
    }

    @Test("bad input is not answered here: the router gets the request whole")
    func badInputPassed() throws {
        let lane = Lane()
        let (channel, router) = try Self.channel(lane)
        try Self.send(channel, DeductFastPath.path, body: #"{"user_id": "u1", "count": 1}"#)  // no service
        try Self.send(channel, DeductFastPath.path, body: String(repeating: " ", count: 2_000))  // over the limit
        try Self.send(channel, DeductFastPath.path + "?x=1", body: Self.deduction)
        #expect(lane.count == 0)
        #expect(router.paths.count == 3)
        #expect(try Self.statuses(channel) == [204, 204, 204])
    }
}

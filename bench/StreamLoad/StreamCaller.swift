import Dispatch
import NIOCore
import NIOHPACK
import NIOHTTP2

/// One DeductQuotaStream on its HTTP/2 stream channel: WINDOW deductions written at once,
/// then as many as were answered after each read (one DATA frame, one flush), until the
/// deadline; then the end of the request stream, and the tally once the server's trailers
/// come.
final class StreamCaller: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    struct Settings: Sendable {
        let port: Int
        let token: String
        let users: Int
        let window: Int
        /// `DispatchTime` uptime nanoseconds.
        let deadline: UInt64
    }

    struct Tally: Sendable {
        /// Nanoseconds from each charged deduction's write to its answer.
        var latencies: [UInt64] = []
        var failures = 0
    }

    /// Send instants by request number (modulo the size): at most `window` requests are
    /// unanswered at a time, so only an answer 65,536 requests late would read a wrong instant.
    private static let ringSize = 1 << 16

    private let settings: Settings
    private let prefix: [UInt8]
    private let promise: EventLoopPromise<Tally>
    private var random: SplitMix64
    private var sentAt = [UInt64](repeating: 0, count: ringSize)
    private var sent = 0
    private var credits = 0
    private var ended = false
    private var finished = false
    private var received: ByteBuffer?
    private var tally = Tally()

    init(settings: Settings, prefix: String, tally: EventLoopPromise<Tally>) {
        self.settings = settings
        self.prefix = Array(prefix.utf8)
        self.promise = tally
        self.random = SplitMix64(seed: UInt64(truncatingIfNeeded: prefix.hashValue))
        self.tally.latencies.reserveCapacity(1 << 18)
    }

    func channelActive(context: ChannelHandlerContext) {
        let headers: HPACKHeaders = [
            ":method": "POST", ":scheme": "http", ":path": "/billing.v1.BillingInternalService/DeductQuotaStream",
            ":authority": "127.0.0.1:\(settings.port)", "content-type": "application/grpc", "te": "trailers",
            "authorization": "Bearer \(settings.token)",
        ]
        context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
        send(settings.window, context: context)
        context.flush()
        // A server that stops answering ends the stream (counted as a failure), not the run.
        let channel = context.channel
        context.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(settings.deadline + 60_000_000_000)) {
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            if headers.endStream {
                if headers.headers.first(name: "grpc-status") != "0" { tally.failures += 1 }
                finish(context: context)
            }
        case .data(let data):
            guard case .byteBuffer(var bytes) = data.data else { return }
            if var held = received {
                received = nil  // one reference, so the append does not copy
                held.writeBuffer(&bytes)
                received = held
            } else {
                received = bytes
            }
            readAnswers()
            if data.endStream { finish(context: context) }
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !ended {
            if DispatchTime.now().uptimeNanoseconds >= settings.deadline {
                ended = true
                let empty = context.channel.allocator.buffer(capacity: 0)
                context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(empty), endStream: true))), promise: nil)
            } else if credits > 0 {
                send(credits, context: context)
                credits = 0
            }
        }
        context.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished { tally.failures += 1 }
        finish(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        tally.failures += 1
        context.close(promise: nil)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        promise.succeed(tally)
    }

    /// `count` deductions as gRPC messages in one DATA frame.
    private func send(_ count: Int, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: count * 48)
        let now = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<count {
            sent += 1
            sentAt[sent & (Self.ringSize - 1)] = now
            GRPCWire.writeDeduction(
                user: Int(random.next() % UInt64(settings.users)), prefix: prefix, number: sent, into: &buffer)
        }
        context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(buffer)))), promise: nil)
    }

    /// Every whole message received so far.
    private func readAnswers() {
        guard var buffer = received else { return }
        received = nil
        let now = DispatchTime.now().uptimeNanoseconds
        while let answer = GRPCWire.readResult(&buffer) {
            credits += 1
            if answer.success, let number = answer.number {
                tally.latencies.append(now &- sentAt[number & (Self.ringSize - 1)])
            } else {
                tally.failures += 1
            }
        }
        if buffer.readableBytes > 0 {
            buffer.discardReadBytes()
            received = buffer
        }
    }
}

/// A fast, seeded generator: `SystemRandomNumberGenerator` asks the kernel on every draw.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

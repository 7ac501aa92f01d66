import AsyncHTTPClient
import BillingProto
import GRPCCore
import GRPCLifecycle
import GRPCNIOTransportHTTP2
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals
import Synchronization

/// The local stand-in for the platform's Payment Service: `payment.v1.PaymentService`
/// over gRPC, pay pages over HTTP, signed callbacks to billing. Payments live in memory.
public enum PaymentSandbox {
    /// A started sandbox: where it listens, what it holds, and how to stop it.
    public struct Running: Sendable {
        public let grpcPort: Int
        public let httpPort: Int
        public let payPageBase: String
        public let ledger: SandboxLedger
        /// What billing's webhooks delivered here.
        public let webhooks: WebhookInbox
        let group: ServiceGroup
        let stopped: Stopped

        /// Stops accepting, lets requests in flight finish, and returns once both
        /// listeners are closed.
        public func stop() async {
            await group.triggerGracefulShutdown()
            await stopped.wait()
        }
    }

    /// Signalled when `run` has ended.
    final class Stopped: Sendable {
        private let state = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        func signal() {
            let waiters = state.withLock { state in
                state.done = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }

        func wait() async {
            await withCheckedContinuation { continuation in
                let done = state.withLock { state in
                    if !state.done { state.waiters.append(continuation) }
                    return state.done
                }
                if done { continuation.resume() }
            }
        }
    }

    /// Runs until `signals` arrive or `Running.stop()`; `onRunning` is called once both
    /// listeners are bound.
    public static func run(
        options: SandboxOptions, logger: Logger, signals: [UnixSignal] = [],
        onRunning: @escaping @Sendable (Running) async -> Void = { _ in }
    ) async throws {
        let ledger = SandboxLedger()
        let webhooks = WebhookInbox(secret: options.webhookSecret)
        let httpPort = Mutex(options.httpPort)
        let payPageBase: @Sendable () -> String = {
            options.publicURL ?? "http://\(options.host):\(httpPort.withLock { $0 })"
        }
        let grpcServer = GRPCServer(
            transport: .http2NIOPosix(
                address: .ipv4(host: options.host, port: options.grpcPort), transportSecurity: .plaintext),
            services: [PaymentGRPCService(ledger: ledger, options: options, payPageBase: payPageBase)])
        let sender = CallbackSender(ledger: ledger, options: options, client: HTTPClient.shared)
        let queue = CallbackQueue(sender: sender, delay: options.callbackDelay)
        let bound = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: SandboxRoutes(ledger: ledger, sender: sender, queue: queue, options: options, webhooks: webhooks)
                .router(),
            configuration: .init(address: .hostname(options.host, port: options.httpPort), serverName: "payment-sandbox"),
            services: [queue, GRPCServerService(server: grpcServer)],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? options.httpPort
                httpPort.withLock { $0 = port }
                bound.continuation.yield(port)
                bound.continuation.finish()
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: signals, logger: logger))

        let stopped = Stopped()
        defer { stopped.signal() }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { stopped.signal() }
                try await group.run()
            }
            tasks.addTask {
                guard let http = await bound.stream.first(where: { _ in true }),
                    let grpc = try await grpcServer.listeningAddress?.ipv4?.port
                else {
                    // Not listening after all: stop, so that run ends with the group's error.
                    await group.triggerGracefulShutdown()
                    return
                }
                await onRunning(
                    Running(
                        grpcPort: grpc, httpPort: http, payPageBase: payPageBase(), ledger: ledger, webhooks: webhooks,
                        group: group, stopped: stopped))
            }
            try await tasks.waitForAll()
        }
    }

    /// Runs a sandbox around `body` (tests): started before, stopped after.
    public static func withRunning<Result: Sendable>(
        options: SandboxOptions, logger: Logger = Logger(label: "payment-sandbox"),
        _ body: @Sendable (Running) async throws -> Result
    ) async throws -> Result {
        let started = AsyncStream.makeStream(of: Running.self)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                // However run ends (a port taken, say), the wait below ends with it.
                defer { started.continuation.finish() }
                try await run(options: options, logger: logger) { started.continuation.yield($0) }
            }
            guard let running = await started.stream.first(where: { _ in true }) else {
                try await tasks.waitForAll()
                throw SandboxStartFailure()
            }
            do {
                let result = try await body(running)
                await running.stop()
                try await tasks.waitForAll()
                return result
            } catch {
                await running.stop()
                tasks.cancelAll()
                throw error
            }
        }
    }
}

public struct SandboxStartFailure: Error {}

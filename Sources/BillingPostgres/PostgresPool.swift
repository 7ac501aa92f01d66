import BillingConcurrency
import BillingCore
import Foundation

/// A bounded set of connections, each owned by its own thread, for everything but the
/// deduction lanes. Blocking libpq calls run on those threads, never on an event loop or
/// the cooperative pool. A broken connection is replaced on next use.
public final class PostgresPool: ThreadOwningService {
    public struct Settings: Sendable {
        public var size: Int
        /// How long a call may wait for a free connection before it is UNAVAILABLE.
        public var acquireTimeout: Duration
        public var maxQueued: Int

        public init(size: Int = 8, acquireTimeout: Duration = .seconds(5), maxQueued: Int = 10_000) {
            self.size = size
            self.acquireTimeout = acquireTimeout
            self.maxQueued = maxQueued
        }
    }

    private struct Job {
        let enqueuedAt: ContinuousClock.Instant
        let run: (PostgresConnection?) -> Void
    }

    public let config: PostgresConfig
    private let settings: Settings
    private let queue: WorkQueue<Job>
    private let threads = WorkerThreads()

    /// Stores the settings; `start()` (or `run()` in a ServiceGroup) connects.
    public init(config: PostgresConfig, settings: Settings = Settings()) {
        self.config = config
        self.settings = settings
        queue = WorkQueue(capacity: settings.maxQueued)
    }

    public func start() {
        guard threads.beginOnce() else { return }
        for index in 0..<settings.size {
            threads.start(name: "pg-pool-\(index)") { [queue, config, settings] in
                Self.work(queue: queue, config: config, acquireTimeout: settings.acquireTimeout)
            }
        }
    }

    private static func work(queue: WorkQueue<Job>, config: PostgresConfig, acquireTimeout: Duration) {
        // Connect up front: starting a backend costs milliseconds of server CPU, better spent
        // before the first request than during the first burst of them.
        var connection: PostgresConnection? = try? PostgresConnection.connect(config)
        while let job = queue.take(max: 1).first {
            if ContinuousClock.now - job.enqueuedAt > acquireTimeout {
                job.run(nil)
                continue
            }
            if connection?.isAlive != true {
                connection?.close()
                connection = try? PostgresConnection.connect(config)
            }
            job.run(connection)
        }
        connection?.close()
    }

    /// Runs `body` with a connection of its own on a pool thread.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws(BillingError) -> T {
        let result: Result<T, BillingError> = await withCheckedContinuation { continuation in
            let job = Job(enqueuedAt: .now) { connection in
                guard let connection else {
                    continuation.resume(returning: .failure(.unavailable("database unavailable")))
                    return
                }
                do {
                    continuation.resume(returning: .success(try body(connection)))
                } catch {
                    continuation.resume(returning: .failure(DatabaseErrors.map(error)))
                }
            }
            if let refusal = queue.push(job) {
                let error: BillingError =
                    refusal == .full ? .overloaded("database pool queue is full") : .unavailable("shutting down")
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// Lets queued calls finish, then closes every connection.
    public func shutdown() async {
        start()
        queue.stop()
        await threads.waitUntilFinished()
    }
}

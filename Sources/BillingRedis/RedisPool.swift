import BillingConcurrency
import Foundation
import Synchronization

/// A few Redis connections, each owned by its own thread, so blocking hiredis calls never
/// run on an event loop or the cooperative pool. When Redis cannot be reached, calls fail
/// at once for `retryAfter` instead of each waiting for a connect timeout; after that a
/// call tries again, so a Redis that comes back is used without a restart.
public final class RedisPool: ThreadOwningService {
    public struct Settings: Sendable {
        public var size: Int
        public var maxQueued: Int
        public var retryAfter: Duration

        public init(size: Int = 4, maxQueued: Int = 10_000, retryAfter: Duration = .seconds(1)) {
            self.size = size
            self.maxQueued = maxQueued
            self.retryAfter = retryAfter
        }
    }

    private struct Job {
        let run: ((any RedisCommands)?) -> Void
    }

    private let config: RedisConfig
    private let settings: Settings
    private let scripts: [String]
    private let queue: WorkQueue<Job>
    private let threads = WorkerThreads()
    private let downUntil = Mutex<ContinuousClock.Instant?>(nil)

    /// Stores the settings; `start()` (or `run()` in a ServiceGroup) starts the threads.
    public init(config: RedisConfig, settings: Settings = Settings(), scripts: [String] = []) {
        self.config = config
        self.settings = settings
        self.scripts = scripts
        queue = WorkQueue(capacity: settings.maxQueued)
    }

    public func start() {
        guard threads.beginOnce() else { return }
        for index in 0..<settings.size {
            threads.start(name: "redis-\(index)") { [self] in
                self.work(config: config)
            }
        }
    }

    /// False while Redis is considered unreachable.
    public var isReachable: Bool {
        downUntil.withLock { until in until.map { ContinuousClock.now >= $0 } ?? true }
    }

    private func work(config: RedisConfig) {
        var connection: (any RedisCommands)?
        while let job = queue.take(max: 1).first {
            connection = usable(connection, config: config)
            job.run(connection)
            noteBroken(connection)
        }
        connection?.close()
    }

    /// `connection` if it still works, else a new one with `config` (nil while Redis is
    /// considered down, or when connecting fails, which starts a `retryAfter` pause).
    func usable(_ connection: (any RedisCommands)?, config: RedisConfig) -> (any RedisCommands)? {
        if connection?.isUsable == true { return connection }
        connection?.close()
        guard isReachable else { return nil }
        do throws(RedisError) {
            // A cluster client loads the scripts on each node it connects to.
            let fresh: any RedisCommands
            if config.clusterNodes.isEmpty {
                fresh = try RedisConnection.connect(config)
                for script in scripts { _ = try fresh.command(["SCRIPT", "LOAD", script]) }
            } else {
                fresh = try RedisClusterClient.connect(config, scripts: scripts)
            }
            downUntil.withLock { $0 = nil }
            return fresh
        } catch {
            downUntil.withLock { $0 = ContinuousClock.now + settings.retryAfter }
            return nil
        }
    }

    /// A connection that broke while used starts a `retryAfter` pause.
    func noteBroken(_ connection: (any RedisCommands)?) {
        if connection?.isUsable == false {
            downUntil.withLock { $0 = ContinuousClock.now + settings.retryAfter }
        }
    }

    /// A connection of its own for a thread that waits for its writes (a deduction lane
    /// writing the accounts it committed): one round trip instead of two hand-offs to a
    /// pool thread. Same server, scripts and pause as the pool's; no call waits longer than
    /// `timeout` on a connect or a reply.
    public func direct(timeout: Duration) -> RedisDirect {
        var config = config
        let milliseconds = max(1, Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        config.connectTimeoutMilliseconds = min(config.connectTimeoutMilliseconds, milliseconds)
        config.commandTimeoutMilliseconds = min(config.commandTimeoutMilliseconds, milliseconds)
        return RedisDirect(pool: self, config: config)
    }

    /// Runs `body` on a pool connection; a failure (including an unreachable Redis) comes
    /// back as a value, never thrown: callers fall back.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (any RedisCommands) throws(RedisError) -> T
    ) async -> Result<T, RedisError> {
        await withCheckedContinuation { continuation in
            let job = Job { connection in
                guard let connection else {
                    continuation.resume(returning: .failure(RedisError(kind: .connection, message: "Redis unreachable")))
                    return
                }
                continuation.resume(returning: Result { () throws(RedisError) in try body(connection) })
            }
            if queue.push(job) != nil {
                continuation.resume(returning: .failure(RedisError(kind: .connection, message: "Redis queue full")))
            }
        }
    }

    /// Runs `body` later, for writes nobody waits for; returns false when it was dropped.
    @discardableResult
    public func submit(_ body: @escaping @Sendable ((any RedisCommands)?) -> Void) -> Bool {
        queue.push(Job(run: body)) == nil
    }

    public func shutdown() async {
        start()
        queue.stop()
        await threads.waitUntilFinished()
    }
}

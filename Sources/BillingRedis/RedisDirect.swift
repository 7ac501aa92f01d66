import Synchronization

/// One Redis connection used on its owner's thread (see `RedisPool.direct`). Connected on
/// first use and again after it breaks, unless the pool considers Redis down.
public final class RedisDirect: Sendable {
    private let pool: RedisPool
    private let config: RedisConfig
    /// Only its owner's thread uses it; the lock is never contended.
    private let connection = Mutex<(any RedisCommands)?>(nil)

    init(pool: RedisPool, config: RedisConfig) {
        self.pool = pool
        self.config = config
    }

    /// Runs `body` on the connection, here and now; an unreachable Redis is an error.
    public func run(_ body: (any RedisCommands) throws(RedisError) -> Void) throws(RedisError) {
        try connection.withLock { (connection: inout (any RedisCommands)?) throws(RedisError) in
            connection = pool.usable(connection, config: config)
            guard let usable = connection else { throw RedisError(kind: .connection, message: "Redis unreachable") }
            defer { pool.noteBroken(usable) }
            try body(usable)
        }
    }

    /// Closes the connection (the next `run` opens another).
    public func close() {
        connection.withLock { connection in
            connection?.close()
            connection = nil
        }
    }
}

import BillingCore
import Crypto
import Foundation

/// What the cache reports, for metrics.
public protocol CacheObserver: Sendable {
    func cacheHit()
    func cacheMiss()
    /// Redis failed on a read; the caller fell back to PostgreSQL.
    func cacheFallback()
    /// A write did not reach Redis (failed or dropped).
    func cacheWriteFailed()
}

/// Cache-aside for accounts in Redis. PostgreSQL stays the only source of truth: every
/// write carries the account's version and a Lua script keeps the highest version, so an
/// older value never overwrites a newer one; every key has a TTL; a Redis failure is a
/// miss for readers and a dropped write for writers, never an error.
public final class RedisAccountCache: AccountCache {
    /// Stores each key's value (whose text starts with its version) unless the key already
    /// holds a version at least as new; values that do not start with a number are replaced.
    /// `ARGV[1]` is the TTL; `KEYS[i]` gets version `ARGV[2i]` and value `ARGV[2i+1]`. One
    /// call carries a whole lane batch's accounts: a call per account was most of Redis's
    /// time, and a tenth of a per-request deduction's.
    static let versionedSet = """
        local written = 0
        for i, key in ipairs(KEYS) do
          local current = redis.pcall('GET', key)
          local newer = false
          if type(current) == 'table' and current.err then
            redis.call('DEL', key)
          elseif current then
            local version = tonumber(string.match(current, '^(%d+)|'))
            newer = version ~= nil and version >= tonumber(ARGV[2 * i])
          end
          if not newer then
            redis.call('SET', key, ARGV[2 * i + 1], 'EX', ARGV[1])
            written = written + 1
          end
        end
        return written
        """
    static let versionedSetSHA = Insecure.SHA1.hash(data: Array(versionedSet.utf8))
        .map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()

    private let pool: RedisPool
    private let namespace: String
    private let ttlSeconds: Int
    private let observer: (any CacheObserver)?

    public init(pool: RedisPool, namespace: String = "billing", ttlSeconds: Int, observer: (any CacheObserver)? = nil) {
        self.pool = pool
        self.namespace = namespace
        self.ttlSeconds = ttlSeconds
        self.observer = observer
    }

    func key(_ userId: String, _ period: QuotaPeriod) -> String {
        AccountCodec.key(namespace: namespace, userId: userId, period: period)
    }

    public static func makePool(config: RedisConfig, settings: RedisPool.Settings = .init()) -> RedisPool {
        RedisPool(config: config, settings: settings, scripts: [versionedSet])
    }

    public var isReachable: Bool { pool.isReachable }

    /// Whether Redis answers now.
    public func ping() async -> Bool {
        let reply = await pool.withConnection { connection throws(RedisError) in try connection.command(["PING"]) }
        return (try? reply.get()) == .status("PONG")
    }

    public func account(of userId: String, period: QuotaPeriod) async -> AccountState? {
        let key = key(userId, period)
        let reply = await pool.withConnection { connection throws(RedisError) in
            let value = try connection.command(["GET", key])
            // A value this code did not write is removed, so the next write can replace it.
            if case .string(let text) = value, !AccountCodec.isTombstone(text), AccountCodec.decode(text) == nil {
                _ = try? connection.command(["DEL", key])
            }
            return value
        }
        switch reply {
        case .success(.string(let text)):
            guard let state = AccountCodec.decode(text, userId: userId) else {
                observer?.cacheMiss()
                return nil
            }
            observer?.cacheHit()
            return state
        case .success:
            observer?.cacheMiss()
            return nil
        case .failure:
            observer?.cacheFallback()
            return nil
        }
    }

    public func store(_ state: AccountState, of userId: String, period: QuotaPeriod) async {
        let entry = Entry(key: key(userId, period), version: state.version, value: AccountCodec.encode(state))
        let result = await pool.withConnection { connection throws(RedisError) in
            try Self.evalVersioned(self.versionedSetCommands([entry], on: connection), on: connection)
        }
        if case .failure = result { observer?.cacheWriteFailed() }
    }

    /// A connection for one lane's writes (`store(_:period:on:)`), whose connects and
    /// replies each wait at most `timeout`.
    public func laneWriter(timeout: Duration) -> RedisDirect { pool.direct(timeout: timeout) }

    /// Writes many accounts in one pipelined round trip on `writer`, blocking the calling
    /// thread (a lane's own thread, never an event loop) for its timeout at most, so a
    /// deduction is acknowledged only once the cache shows it — or once the cache has been
    /// given up on.
    public func store(_ accounts: [String: AccountState], period: QuotaPeriod, on writer: RedisDirect) {
        write(
            accounts.map { user, state in
                Entry(key: key(user, period), version: state.version, value: AccountCodec.encode(state))
            }, on: writer)
    }

    /// Marks accounts whose new state is unknown here (a commit of unknown fate) with a
    /// tombstone at the version they may have reached, written like `store(_:period:on:)`. A
    /// delete would not do: a reader that fetched the older state before the commit could
    /// write it back afterwards; the tombstone's version refuses it.
    public func tombstone(_ versions: [String: Int64], period: QuotaPeriod, on writer: RedisDirect) {
        write(
            versions.map { user, version in
                Entry(key: key(user, period), version: version, value: AccountCodec.tombstone(version: version))
            }, on: writer)
    }

    private func write(_ entries: [Entry], on writer: RedisDirect) {
        guard !entries.isEmpty else { return }
        do throws(RedisError) {
            try writer.run { connection throws(RedisError) in
                try Self.evalVersioned(versionedSetCommands(entries, on: connection), on: connection)
            }
        } catch {
            for _ in entries { observer?.cacheWriteFailed() }
        }
    }

    /// A key to write at a version.
    struct Entry {
        let key: String
        let version: Int64
        let value: String
    }

    /// Keys per call at most: each call runs alone on the Redis server, so a batch of a
    /// thousand accounts is written in a few short calls rather than one long one.
    static let keysPerCall = 100

    /// The script calls that write `entries`: as few as the connection allows (on a
    /// cluster, a call's keys must share a slot; the cache's keys share one per user only).
    func versionedSetCommands(_ entries: [Entry], on connection: any RedisCommands) -> [[String]] {
        let groups =
            connection.routesBySlot
            ? Array(Dictionary(grouping: entries, by: { RedisHashSlot.slot(of: $0.key) }).values) : [entries]
        return groups.flatMap { group in
            stride(from: 0, to: group.count, by: Self.keysPerCall).map { start in
                let chunk = group[start..<min(start + Self.keysPerCall, group.count)]
                var command = ["EVALSHA", Self.versionedSetSHA, String(chunk.count)]
                command.reserveCapacity(4 + chunk.count * 3)
                command.append(contentsOf: chunk.map(\.key))
                command.append(String(ttlSeconds))
                for entry in chunk {
                    command.append(String(entry.version))
                    command.append(entry.value)
                }
                return command
            }
        }
    }

    /// EVALSHA, loading the script again if the server lost it (a restart, SCRIPT FLUSH).
    static func evalVersioned(_ commands: [[String]], on connection: any RedisCommands) throws(RedisError) {
        do {
            _ = try connection.pipeline(commands)
        } catch where error.kind == .reply && error.message.hasPrefix("NOSCRIPT") {
            _ = try connection.command(["SCRIPT", "LOAD", versionedSet])
            _ = try connection.pipeline(commands)
        }
    }
}

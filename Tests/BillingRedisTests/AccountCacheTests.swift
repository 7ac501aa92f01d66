import BillingCore
@testable import BillingRedis
import Foundation
import Testing
import TestSupport

enum TestRedis {
    /// The test Redis, or the cluster of `REDIS_CLUSTER_NODES` (`make test-scale`).
    static var config: RedisConfig {
        let environment = ProcessInfo.processInfo.environment
        let nodes = (TestEnvironment.redisClusterNodes ?? "").split(separator: ",").compactMap { RedisNode($0) }
        return RedisConfig(
            host: environment["REDIS_HOST"] ?? "127.0.0.1", port: environment["REDIS_PORT"].flatMap(Int.init) ?? 63799,
            clusterNodes: nodes)
    }

    /// A direct line to the same Redis (or cluster), to look under the cache.
    static func direct() throws -> any RedisCommands {
        config.clusterNodes.isEmpty
            ? try RedisConnection.connect(config) : try RedisClusterClient.connect(config)
    }

    static func state(version: Int64, balance: Int64, used: Int64 = 0) -> AccountState {
        AccountState(
            balanceFen: Fen(balance), quotas: ["passport": QuotaUsage(total: 10_000, used: used)], version: version)
    }

    static func user() -> String { "cache-\(UUID().uuidString)" }
}

@Suite("The account cache against the real Redis", .timeLimit(.minutes(1)))
struct AccountCacheTests {
    let period = try! QuotaPeriod(text: "2026-11")

    func withCache(_ body: (RedisAccountCache, any RedisCommands) async throws -> Void) async throws {
        let pool = RedisAccountCache.makePool(config: TestRedis.config, settings: .init(size: 2)).started()
        let cache = RedisAccountCache(pool: pool, ttlSeconds: 60)
        let direct = try TestRedis.direct()
        do {
            try await body(cache, direct)
        } catch {
            direct.close()
            await pool.shutdown()
            throw error
        }
        direct.close()
        await pool.shutdown()
    }

    @Test("a stored account is read back whole; an unknown one is a miss")
    func hitAndMiss() async throws {
        try await withCache { cache, direct in
            let user = TestRedis.user()
            #expect(await cache.account(of: user, period: period) == nil)
            let state = AccountState(
                balanceFen: Fen(1234),
                quotas: ["passport": QuotaUsage(total: 10_000, used: 3), "asset": QuotaUsage(total: 1_000, used: 1_000)],
                version: 7)
            await cache.store(state, of: user, period: period)
            #expect(await cache.account(of: user, period: period) == state)
            let ttl = try direct.command(["TTL", cache.key(user, period)])
            guard case .integer(let seconds) = ttl else {
                Issue.record("no TTL reply")
                return
            }
            #expect((1...60).contains(seconds))
        }
    }

    @Test("an older version never overwrites a newer one, whatever the order of the writers")
    func versions() async throws {
        try await withCache { cache, _ in
            let user = TestRedis.user()
            await cache.store(TestRedis.state(version: 5, balance: 500), of: user, period: period)
            await cache.store(TestRedis.state(version: 3, balance: 300), of: user, period: period)
            #expect(await cache.account(of: user, period: period)?.version == 5)

            let racer = TestRedis.user()
            await withTaskGroup(of: Void.self) { group in
                for version in (1...60).shuffled() {
                    group.addTask {
                        await cache.store(TestRedis.state(version: Int64(version), balance: Int64(version)), of: racer, period: period)
                    }
                }
            }
            let final = await cache.account(of: racer, period: period)
            #expect(final?.version == 60 && final?.balanceFen == Fen(60))
        }
    }

    @Test("a lane's waiting batch write lands before it returns")
    func batchWrite() async throws {
        try await withCache { cache, _ in
            let users = (0..<20).map { _ in TestRedis.user() }
            let accounts = Dictionary(uniqueKeysWithValues: users.map { ($0, TestRedis.state(version: 2, balance: 42)) })
            cache.store(accounts, period: period, on: cache.laneWriter(timeout: .seconds(2)))
            for user in users { #expect(await cache.account(of: user, period: period)?.balanceFen == Fen(42)) }
        }
    }

    @Test("a batch write decides each account alone: newer values land, older ones are refused, corrupt ones replaced")
    func batchWriteDecidesEachKey() async throws {
        try await withCache { cache, direct in
            let users = (0..<250).map { _ in TestRedis.user() }
            let newer = Set(users.enumerated().filter { $0.offset % 7 == 0 }.map(\.element))
            let corrupt = users[100]
            let writer = cache.laneWriter(timeout: .seconds(2))
            cache.store(
                Dictionary(uniqueKeysWithValues: newer.map { ($0, TestRedis.state(version: 9, balance: 900)) }),
                period: period, on: writer)
            _ = try direct.command(["RPUSH", cache.key(corrupt, period), "x"])
            let accounts = Dictionary(uniqueKeysWithValues: users.map { ($0, TestRedis.state(version: 5, balance: 500)) })
            cache.store(accounts, period: period, on: writer)
            // Read back under the cache, in one round trip (250 reads through the pool are slow
            // when the whole suite runs at once).
            let replies = try direct.pipeline(users.map { ["GET", cache.key($0, period)] })
            for (user, reply) in zip(users, replies) {
                let balance = reply.string.flatMap { AccountCodec.decode($0) }?.balanceFen
                #expect(balance == Fen(newer.contains(user) ? 900 : 500), "\(user)")
            }
        }
    }

    @Test("a batch goes in few script calls, each within the key limit and, on a cluster, within one slot")
    func batchCalls() async throws {
        try await withCache { cache, direct in
            let entries = (0..<250).map { index in
                RedisAccountCache.Entry(key: cache.key("calls-\(index)", period), version: 1, value: "1|0|0||||0:")
            }
            let commands = cache.versionedSetCommands(entries, on: direct)
            let keys = commands.map { command in Array(command[3..<(3 + (Int(command[2]) ?? 0))]) }
            let written: [String] = keys.flatMap { $0 }.sorted()
            let wanted: [String] = entries.map { $0.key }.sorted()
            #expect(written == wanted)
            let largest = keys.map { $0.count }.max() ?? 0
            #expect(largest <= RedisAccountCache.keysPerCall)
            let slotsPerCall = keys.map { Set($0.map { RedisHashSlot.slot(of: $0) }).count }
            #expect(direct.routesBySlot ? slotsPerCall.allSatisfy { $0 == 1 } : commands.count == 3)
            let shapes = commands.map { $0.count - 3 - (Int($0[2]) ?? 0) * 3 }
            #expect(shapes.allSatisfy { $0 == 1 }, "EVALSHA, sha, key count, keys, TTL, then version and value per key")
        }
    }

    @Test("a tombstone after a commit of unknown fate is a miss that refuses older values")
    func tombstone() async throws {
        try await withCache { cache, _ in
            let user = TestRedis.user()
            let writer = cache.laneWriter(timeout: .seconds(2))
            cache.store([user: TestRedis.state(version: 4, balance: 42)], period: period, on: writer)
            cache.tombstone([user: 5], period: period, on: writer)
            #expect(await cache.account(of: user, period: period) == nil)
            // A slow reader's value from before the commit cannot come back, even after a read.
            await cache.store(TestRedis.state(version: 4, balance: 42), of: user, period: period)
            await cache.store(TestRedis.state(version: 5, balance: 42), of: user, period: period)
            #expect(await cache.account(of: user, period: period) == nil)
            await cache.store(TestRedis.state(version: 6, balance: 30), of: user, period: period)
            #expect(await cache.account(of: user, period: period)?.balanceFen == Fen(30))
        }
    }

    @Test(
        "a value corrupted by hand is a miss, and the next write repairs it",
        arguments: ["garbage", "12|x|", "3|100|passport:5", "3|100|passport:9:5", "-1|0|", "wrong-type"])
    func corrupted(value: String) async throws {
        try await withCache { cache, direct in
            let user = TestRedis.user()
            let key = cache.key(user, period)
            if value == "wrong-type" {
                _ = try direct.command(["RPUSH", key, "x"])
            } else {
                _ = try direct.command(["SET", key, value])
            }
            #expect(await cache.account(of: user, period: period) == nil)
            await cache.store(TestRedis.state(version: 1, balance: 10), of: user, period: period)
            #expect(await cache.account(of: user, period: period)?.balanceFen == Fen(10))
        }
    }

    @Test("a server that lost the script (SCRIPT FLUSH) gets it again")
    func noScript() async throws {
        try await withCache { cache, direct in
            _ = try direct.command(["SCRIPT", "FLUSH"])
            let user = TestRedis.user()
            await cache.store(TestRedis.state(version: 1, balance: 77), of: user, period: period)
            #expect(await cache.account(of: user, period: period)?.balanceFen == Fen(77))
        }
    }

    @Test("the codec round-trips and rejects what it did not write")
    func codec() {
        let state = TestRedis.state(version: 9, balance: 100, used: 4)
        #expect(AccountCodec.decode(AccountCodec.encode(state)) == state)
        #expect(AccountCodec.decode(AccountCodec.encode(AccountState(balanceFen: .zero, quotas: [:], version: 0)))?.quotas == [:])
        #expect(AccountCodec.decode("") == nil)
        #expect(AccountCodec.decode("1|2|a:1:2|extra") == nil)
        // The format before carries and overrides is a miss, so it is replaced, never misread.
        #expect(AccountCodec.decode("1|2|a:1:2") == nil)
        #expect(AccountCodec.decode("1|2|a:1:2||") == nil, "the format before holds")
        let priced = AccountState(
            balanceFen: Fen(5), quotas: ["tokens": QuotaUsage(total: 3, used: 1)], version: 4,
            carries: ["tokens": 999_999],
            overrides: [
                PriceOverride(
                    id: 7, userId: "u1", serviceName: "tokens", price: try! UnitPrice(microFen: 1),
                    from: Date(timeIntervalSince1970: 1_795_000_000.123456), to: nil),
                PriceOverride(
                    id: 8, userId: "u1", serviceName: "tokens", price: try! UnitPrice(microFen: 2),
                    from: Date(timeIntervalSince1970: 1_796_000_000), to: Date(timeIntervalSince1970: 1_797_000_000)),
            ])
        // The stored text, pinned: a Redis written by an older server must read the same.
        #expect(
            AccountCodec.encode(priced)
                == "4|5|0|tokens:1:3:0|tokens:999999|7:tokens:1:1795000000123456:,8:tokens:2:1796000000000000:1797000000000000|0:")
        let several = AccountState(
            balanceFen: Fen(1_234), quotas: ["b": QuotaUsage(total: 10, used: 2, held: 3), "a": QuotaUsage(total: 5, used: 5)],
            version: 77, carries: ["z": 5, "y": 0], heldFen: Fen(30), spentFen: Fen(12), spendCapFen: Fen(5_000))
        #expect(AccountCodec.encode(several) == "77|1234|30|a:5:5:0,b:2:10:3|y:0,z:5||12:5000")
        #expect(AccountCodec.encode(AccountState(balanceFen: .zero, quotas: [:], version: 0)) == "0|0|0||||0:")
        let decoded = AccountCodec.decode(AccountCodec.encode(priced), userId: "u1")
        #expect(decoded?.carries == priced.carries && decoded?.overrides.map(\.id) == [7, 8])
        #expect(decoded?.overrides.map(\.to) == [nil, Date(timeIntervalSince1970: 1_797_000_000)])
        #expect(decoded.map { abs($0.overrides[0].from.timeIntervalSince(priced.overrides[0].from)) < 0.000_001 } == true)
        #expect(AccountCodec.decode("1|2|0||tokens:1000000||0:") == nil, "a carry of a whole fen is corrupt")
        #expect(AccountCodec.decode("1|2|3||||0:") == nil, "more held than the balance is corrupt")
        #expect(AccountCodec.decode("1|2|0||||") == nil, "the format before caps")
        let capped = AccountState(balanceFen: Fen(9), quotas: [:], version: 2, spentFen: Fen(40), spendCapFen: Fen(50))
        #expect(AccountCodec.decode(AccountCodec.encode(capped)) == capped)
        let holding = AccountState(
            balanceFen: Fen(9), quotas: ["s": QuotaUsage(total: 10, used: 2, held: 3)], version: 2, heldFen: Fen(4))
        #expect(AccountCodec.decode(AccountCodec.encode(holding)) == holding)
        #expect(AccountCodec.key(namespace: "billing", userId: "u1", period: period) == "billing:{u1}:account:2026-11")
    }
}

@Suite("The cached account codec under random input")
struct AccountCodecFuzzTests {
    @Test("any stored text decodes to a valid account, reads as a tombstone, or is a miss; never a trap")
    func randomValues() {
        var random = FuzzRandom()
        let state = TestRedis.state(version: 9, balance: 100, used: 4)
        let valid = AccountCodec.encode(state)
        for _ in 0..<FuzzRandom.cases(20_000) {
            var text = random.chance(0.5) ? valid : random.hostileText()
            if random.chance(0.5), !text.isEmpty {
                var scalars = Array(text.unicodeScalars)
                scalars[Int.random(in: 0..<scalars.count, using: &random)] = random.pick(["|", ":", ",", "-", "9", "x"])
                text = String(String.UnicodeScalarView(scalars))
            }
            if let decoded = AccountCodec.decode(text) {
                #expect(decoded.version >= 0 && decoded.balanceFen.value >= 0, "seed \(random.seed): \(text)")
                #expect(!AccountCodec.isTombstone(text))
            }
        }
        #expect(AccountCodec.isTombstone(AccountCodec.tombstone(version: 12)))
        #expect(AccountCodec.decode(AccountCodec.tombstone(version: 12)) == nil)
    }
}

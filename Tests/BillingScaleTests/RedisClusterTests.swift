import BillingCore
@testable import BillingRedis
import Foundation
import Synchronization
import Testing
import TestSupport

extension ScaleTests {
    @Suite("Redis Cluster: the cache's keys on their nodes, through a reshard and a node restart")
    struct RedisCluster {
        final class Counts: CacheObserver {
            let fallbacks = Atomic<Int>(0)
            let writeFailures = Atomic<Int>(0)
            func cacheHit() {}
            func cacheMiss() {}
            func cacheFallback() { fallbacks.add(1, ordering: .relaxed) }
            func cacheWriteFailed() { writeFailures.add(1, ordering: .relaxed) }
        }

        final class Tally: Sendable {
            let stale = Atomic<Int>(0)
            let reads = Atomic<Int>(0)
            let stop = Atomic<Bool>(false)
        }

        static func state(version: Int64) -> AccountState {
            AccountState(
                balanceFen: Fen(version * 10), quotas: ["passport": QuotaUsage(total: 1_000, used: version)], version: version)
        }

        func withCache(_ body: (RedisAccountCache, Counts) async throws -> Void) async throws {
            try Scale.requireEngines()
            let counts = Counts()
            let pool = RedisAccountCache.makePool(
                config: Scale.redisConfig, settings: .init(size: 4, retryAfter: .milliseconds(100))
            ).started()
            let cache = RedisAccountCache(
                pool: pool, namespace: "scale-\(UUID().uuidString.prefix(8))", ttlSeconds: 120, observer: counts)
            do {
                try await body(cache, counts)
            } catch {
                await pool.shutdown()
                throw error
            }
            await pool.shutdown()
        }

        /// Node id → its slots' address, from any node.
        static func nodeIds() throws -> [(id: String, address: String)] {
            try Scale.program("redis-cli", ["-p", "53801", "cluster", "nodes"]).split(separator: "\n").compactMap { line in
                let fields = line.split(separator: " ")
                guard fields.count > 2, fields[2].contains("master") else { return nil }
                return (String(fields[0]), String(fields[1].split(separator: "@")[0]))
            }.sorted { $0.address < $1.address }
        }

        @Test("every account's key is stored on the master that serves its slot, and read back from there")
        func keysOnTheirNodes() async throws {
            try await withCache { cache, counts in
                let users = (0..<300).map { "ru\($0)" }
                for user in users { await cache.store(Self.state(version: 3), of: user, period: Scale.period) }
                let direct = try RedisClusterClient.connect(Scale.redisConfig)
                defer { direct.close() }
                var perNode: [RedisNode: Int] = [:]
                for user in users {
                    let key = cache.key(user, Scale.period)
                    let slot = RedisHashSlot.slot(of: key)
                    let node = try #require(direct.node(serving: slot))
                    perNode[node, default: 0] += 1
                    let owner = try RedisConnection.connect(host: node.host, port: node.port, config: Scale.redisConfig)
                    #expect(try owner.command(["EXISTS", key]) == .integer(1), "\(key) not on \(node)")
                    owner.close()
                    #expect(await cache.account(of: user, period: Scale.period)?.version == 3)
                }
                #expect(perNode.count == 3, "keys on \(perNode)")
                #expect(counts.fallbacks.load(ordering: .relaxed) == 0 && counts.writeFailures.load(ordering: .relaxed) == 0)
            }
        }

        @Test("slots resharded with redis-cli while accounts are written and read: no failure, never an older version")
        func reshard() async throws {
            try await withCache { cache, counts in
                let users = (0..<100).map { "rs\($0)" }
                let nodes = try Self.nodeIds()
                try #require(nodes.count == 3)
                let before = try RedisClusterClient.connect(Scale.redisConfig)
                let ownersBefore = users.map { before.node(serving: RedisHashSlot.slot(of: cache.key($0, Scale.period))) }
                before.close()
                let tally = Tally()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for user in users {
                        group.addTask {
                            var version: Int64 = 1
                            while !tally.stop.load(ordering: .relaxed) {
                                await cache.store(Self.state(version: version), of: user, period: Scale.period)
                                let seen = await cache.account(of: user, period: Scale.period)?.version ?? 0
                                tally.reads.add(1, ordering: .relaxed)
                                if seen < version { tally.stale.add(1, ordering: .relaxed) }
                                version += 1
                            }
                        }
                    }
                    // A third of the first master's slots to the second, then half of what the
                    // second has to the third: keys move under the writers.
                    try Scale.program(
                        "redis-cli",
                        ["--cluster", "reshard", "127.0.0.1:53801", "--cluster-from", nodes[0].id, "--cluster-to",
                         nodes[1].id, "--cluster-slots", "1800", "--cluster-yes"])
                    try Scale.program(
                        "redis-cli",
                        ["--cluster", "reshard", "127.0.0.1:53801", "--cluster-from", nodes[1].id, "--cluster-to",
                         nodes[2].id, "--cluster-slots", "1800", "--cluster-yes"])
                    tally.stop.store(true, ordering: .relaxed)
                    try await group.waitForAll()
                }
                let after = try RedisClusterClient.connect(Scale.redisConfig)
                let ownersAfter = users.map { after.node(serving: RedisHashSlot.slot(of: cache.key($0, Scale.period))) }
                after.close()
                let moved = zip(ownersBefore, ownersAfter).filter { $0 != $1 }.count
                #expect(moved > 0, "no account's slot moved")
                #expect(tally.reads.load(ordering: .relaxed) > users.count)
                #expect(tally.stale.load(ordering: .relaxed) == 0)
                #expect(counts.fallbacks.load(ordering: .relaxed) == 0, "reads that failed")
                #expect(counts.writeFailures.load(ordering: .relaxed) == 0, "writes that failed")
                // Put the slots back evenly for the next tests.
                try Scale.program("redis-cli", ["--cluster", "rebalance", "127.0.0.1:53801", "--cluster-yes"])
            }
        }

        @Test("a master that stops: its accounts are misses (PostgreSQL answers), the others hits; back, it serves again")
        func nodeRestart() async throws {
            try await withCache { cache, counts in
                let users = (0..<90).map { "nr\($0)" }
                for user in users { await cache.store(Self.state(version: 5), of: user, period: Scale.period) }
                let direct = try RedisClusterClient.connect(Scale.redisConfig)
                let stopped = RedisNode(host: "127.0.0.1", port: 53_803)
                let onStopped = Set(users.filter { direct.node(serving: RedisHashSlot.slot(of: cache.key($0, Scale.period))) == stopped })
                direct.close()
                try #require(!onStopped.isEmpty && onStopped.count < users.count)

                try Scale.script("redis-cluster.sh", ["stop-node", "3"])
                for user in users {
                    let state = await cache.account(of: user, period: Scale.period)
                    if onStopped.contains(user) {
                        #expect(state == nil, "\(user) served from a stopped node")
                    } else {
                        #expect(state?.version == 5, "\(user) not served by its live node")
                    }
                }
                #expect(counts.fallbacks.load(ordering: .relaxed) == onStopped.count)
                // A server starting now, with the master down, still caches on the others.
                let latePool = RedisAccountCache.makePool(config: Scale.redisConfig, settings: .init(size: 1)).started()
                let late = RedisAccountCache(pool: latePool, namespace: "late-\(UUID().uuidString.prefix(8))", ttlSeconds: 60)
                let live = try #require(users.first { !onStopped.contains($0) })
                await late.store(Self.state(version: 7), of: live, period: Scale.period)
                #expect(await late.account(of: live, period: Scale.period)?.version == 7)
                await latePool.shutdown()
                try Scale.script("redis-cluster.sh", ["start-node", "3"])
                // The node is back (empty: no persistence): a miss, then written and served.
                var served = 0
                for _ in 0..<40 where served < onStopped.count {
                    served = 0
                    for user in onStopped {
                        await cache.store(Self.state(version: 6), of: user, period: Scale.period)
                        if await cache.account(of: user, period: Scale.period)?.version == 6 { served += 1 }
                    }
                    if served < onStopped.count { try await Task.sleep(for: .milliseconds(250)) }
                }
                #expect(served == onStopped.count)
            }
        }
    }
}

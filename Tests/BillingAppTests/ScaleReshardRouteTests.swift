@testable import BillingApp
import BillingCore
import Foundation
import Synchronization
import Testing
import TestSupport

/// `make test-scale` only (it moves Redis Cluster slots; `make test` skips it): checks and
/// deductions over HTTP while slots move, through the server's own cache.
@Suite("Checks and deductions while Redis Cluster slots move", .serialized, .timeLimit(.minutes(3)))
struct ScaleReshardRouteTests {
    final class Tally: Sendable {
        let requests = Atomic<Int>(0)
        let failed = Atomic<Int>(0)
        let stale = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
    }

    static func masterIds() throws -> [String] {
        try TestShell.run(["redis-cli", "-p", "53801", "cluster", "nodes"]).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            return fields.count > 2 && fields[2].contains("master") ? String(fields[0]) : nil
        }.sorted()
    }

    static func reshard(from: String, to: String) throws {
        try TestShell.run(
            ["redis-cli", "--cluster", "reshard", "127.0.0.1:53801", "--cluster-from", from, "--cluster-to", to,
             "--cluster-slots", "2000", "--cluster-yes"])
    }

    @Test("every request answered 200 and every check after a deduction sees it, through two reshards")
    func reshardUnderLoad() async throws {
        try #require(TestEnvironment.redisClusterNodes != nil, "REDIS_CLUSTER_NODES: run make test-scale")
        try await TestApp.with { app in
            let users = (0..<40).map { "rh\($0)" }
            let masters = try Self.masterIds()
            try #require(masters.count == 3)
            let tally = Tally()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for user in users {
                    group.addTask {
                        var round = 0
                        while !tally.stop.load(ordering: .relaxed), round < 400 {
                            round += 1
                            let deducted = try await app.deduct(user, "passport", count: 1, requestId: "\(user)-\(round)")
                            let check = try await app.internal(
                                "check", #"{"user_id": "\#(user)", "service_name": "passport", "count": 1}"#)
                            tally.requests.add(2, ordering: .relaxed)
                            guard deducted.status == 200, check.status == 200 else {
                                tally.failed.add(1, ordering: .relaxed)
                                continue
                            }
                            // One caller per user: the check must show this deduction's remaining.
                            if check.data?["freeRemaining"]?.int64 != deducted.data?["freeRemaining"]?.int64 {
                                tally.stale.add(1, ordering: .relaxed)
                            }
                        }
                    }
                }
                try Self.reshard(from: masters[0], to: masters[1])
                try Self.reshard(from: masters[1], to: masters[2])
                tally.stop.store(true, ordering: .relaxed)
                try await group.waitForAll()
            }
            _ = try? TestShell.run(["redis-cli", "--cluster", "rebalance", "127.0.0.1:53801", "--cluster-yes"])
            #expect(tally.requests.load(ordering: .relaxed) > 200)
            #expect(tally.failed.load(ordering: .relaxed) == 0)
            #expect(tally.stale.load(ordering: .relaxed) == 0)
            let metrics = try await app.send(.get, "/metrics").text
            #expect(metrics.contains(#"billing_cache_reads_total{result="hit"}"#))
        }
    }
}

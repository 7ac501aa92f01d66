@testable import BillingPostgres
import BillingCore
import Foundation
import Testing
import TestSupport

extension ScaleTests {
    @Suite("Citus: every lane transaction on one worker")
    struct CitusRouting {
        @Test("the lanes' shard of a user is Citus' own, for 2,000 users", .freshSchema())
        func shardOfUser() throws {
            try Scale.requireEngines()
            let connection = try PostgresConnection.connect(try #require(TestSchema.current).config)
            defer { connection.close() }
            let shards = try #require(try CitusShards.load(on: connection))
            let users = (0..<2_000).map { "user-\($0)-\(UUID().uuidString.prefix(6))" }
            let rows = try connection.query(
                """
                SELECT get_shard_id_for_distribution_column('user_balance', u)
                FROM unnest($1::text[]) WITH ORDINALITY AS k(u, n) ORDER BY n
                """, [PostgresText.textArray(users)])
            for (user, row) in zip(users, rows.all) { #expect(shards.shard(of: user) == (try row.int64(0)), "\(user)") }
            #expect(Set(users.map(shards.shard(of:))).count == shards.shardIds.count)
        }

        @Test("a FOR UPDATE over one shard's users is one task; over two shards Citus refuses it", .freshSchema())
        func whyBatchesAreSplit() throws {
            try Scale.requireEngines()
            let connection = try PostgresConnection.connect(try #require(TestSchema.current).config)
            defer { connection.close() }
            let shards = try #require(try CitusShards.load(on: connection))
            let users = (0..<200).map { "u\($0)" }
            let byShard = Dictionary(grouping: users, by: shards.shard(of:))
            let oneShard = try #require(byShard.values.first { $0.count > 1 })
            let plan = try connection.query(
                "EXPLAIN \(LaneStatement.lockBalances.citusSQL.replacingOccurrences(of: "$1::text[]", with: "'\(PostgresText.textArray(oneShard))'::text[]"))"
            ).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
            #expect(plan.contains("Task Count: 1"), "\(plan)")
            let twoShards = byShard.values.prefix(2).map { $0[0] }
            #expect(throws: PostgresError.self) {
                try connection.query(
                    LaneStatement.lockBalances.citusSQL.replacingOccurrences(
                        of: "$1::text[]", with: "'\(PostgresText.textArray(twoShards))'::text[]"))
            }
        }

        // Free calls: a batch that writes an event (a balance alert) also writes the outbox on
        // the coordinator, which makes it a two-phase commit (docs/scaling.md).
        @Test("4,000 free deductions over 400 users of every shard: no two-phase commit, every answer in the ledger once")
        func oneWorkerTransactions() async throws {
            try Scale.requireEngines()
            try await TestSchema.with { schema in
                let (pool, lanes) = Scale.store(schema)
                let users = (0..<400).map { "cu\($0)" }
                // Warm-up: a lane's first batch seeds the price table (a reference table: a write
                // to every node, two-phase by nature), once per process.
                for user in users.prefix(20) {
                    _ = try await lanes.deduct(DeductionRequest(userId: user, serviceName: "asset", count: 1, requestId: "w-\(user)"))
                }
                let twoPhaseBefore = try await pool.withConnection { try $0.query("SELECT count(*) FROM pg_dist_transaction")[0].int64(0) }
                let answers = await withTaskGroup(of: (String, DeductionReceipt?).self) { group in
                    for index in 0..<4_000 {
                        group.addTask {
                            guard
                                let request = try? DeductionRequest(
                                    userId: users[index % users.count], serviceName: index % 2 == 0 ? "passport" : "payment",
                                    count: 1, appId: nil, requestId: "r\(index)")
                            else { return ("r\(index)", nil) }
                            return ("r\(index)", try? await lanes.deduct(request))
                        }
                    }
                    var answers: [String: DeductionReceipt] = [:]
                    for await (id, receipt) in group { if let receipt { answers[id] = receipt } }
                    return answers
                }
                await lanes.shutdown()
                #expect(answers.count == 4_000)
                let (twoPhaseAfter, stored) = try await pool.withConnection { connection in
                    (
                        try connection.query("SELECT count(*) FROM pg_dist_transaction")[0].int64(0),
                        try connection.query(
                            """
                            SELECT request_id, 1 + (paired_record_id IS NOT NULL)::int FROM billing_record
                            WHERE balance_after_fen IS NOT NULL
                            """
                        ).all
                    )
                }
                // The coordinator records every two-phase commit here until recovery (citus.sh
                // sets its interval long): the lanes made none.
                #expect(twoPhaseAfter == twoPhaseBefore)
                #expect(stored.count == 4_020)
                for row in stored {
                    let id = try row.string(0)
                    if id.hasPrefix("w-") { continue }
                    #expect(answers[id]?.recordIds.count == Int(try row.int64(1)), "\(id)")
                }
                let report = try await LedgerAudit(pool: pool).run()
                #expect(report.isClean, "\(report)")
                await pool.shutdown()
            }
        }

        @Test("a shard split while the lanes run: a batch grouped by the old shards is grouped again, every deduction charged once")
        func shardSplit() async throws {
            try Scale.requireEngines()
            try await TestSchema.with { schema in
                let (pool, lanes) = Scale.store(schema)
                let users = (0..<200).map { "su\($0)" }
                // The lanes read the shards on their first batch.
                for user in users.prefix(4) {
                    _ = try await lanes.deduct(DeductionRequest(userId: user, serviceName: "asset", count: 1, requestId: "w-\(user)"))
                }
                let connection = try PostgresConnection.connect(schema.config)
                let before = try #require(try CitusShards.load(on: connection))
                // Split the shard holding the most of these users at the middle of its range,
                // both halves staying on its node.
                let counts = Dictionary(grouping: users, by: before.position(of:)).mapValues(\.count)
                let position = try #require(counts.max { $0.value < $1.value }?.key)
                let low = Int64(before.lowerBounds[position])
                let high = position + 1 < before.lowerBounds.count ? Int64(before.lowerBounds[position + 1]) - 1 : Int64(Int32.max)
                let middle = (low + high) / 2
                let node = try connection.query(
                    "SELECT nodeid FROM pg_dist_placement JOIN pg_dist_node USING (groupid) WHERE shardid = $1",
                    [String(before.shardIds[position])])[0].string(0)
                try connection.query(
                    "SELECT citus_split_shard_by_split_points($1, ARRAY[$2], ARRAY[\(node), \(node)]::int[], 'block_writes')",
                    [String(before.shardIds[position]), String(middle)])
                let after = try #require(try CitusShards.load(on: connection))
                connection.close()
                #expect(after.shardIds.count == before.shardIds.count + 1)
                let halves = Set(users.filter { before.position(of: $0) == position }.map(after.shard(of:)))
                try #require(halves.count == 2, "the split left these users on one side")

                // Every user at once: the lanes still group by the old shards until Citus refuses.
                let requests = try users.map { try DeductionRequest(userId: $0, serviceName: "passport", count: 1, requestId: "s-\($0)") }
                let results = await lanes.deductAll(requests)
                await lanes.shutdown()
                for (user, result) in zip(users, results) {
                    if case .failure(let error) = result { Issue.record("\(user): \(String(reflecting: error))") }
                }
                let stored = try await pool.withConnection {
                    try $0.query(
                        "SELECT count(*) FROM billing_record WHERE request_id LIKE 's-%' AND balance_after_fen IS NOT NULL"
                    )[0].int64(0)
                }
                #expect(stored == Int64(users.count))
                let report = try await LedgerAudit(pool: pool).run()
                #expect(report.isClean, "\(report)")
                await pool.shutdown()
            }
        }
    }
}

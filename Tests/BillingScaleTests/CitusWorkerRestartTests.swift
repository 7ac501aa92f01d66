@testable import BillingPostgres
import BillingCore
import Foundation
import Testing
import TestSupport

extension ScaleTests {
    @Suite("Citus: a worker restarted mid-load")
    struct CitusWorkerRestart {
        @Test("its shards' deductions fail fast with UNAVAILABLE (503) while it is down, the others go on; nothing acknowledged is lost")
        func workerRestart() async throws {
            try Scale.requireEngines()
            try await TestSchema.with { schema in
                let (pool, lanes) = Scale.store(schema)
                let users = (0..<60).map { "wu\($0)" }
                let connection = try PostgresConnection.connect(schema.config)
                let shards = try #require(try CitusShards.load(on: connection))
                // Which users live on worker 2 (port 54342).
                let onWorker2 = Set(
                    try connection.query(
                        """
                        SELECT shardid FROM pg_dist_placement JOIN pg_dist_node USING (groupid)
                        WHERE nodeport = 54342
                        """
                    ).all.map { try $0.int64(0) })
                connection.close()
                let downUsers = Set(users.filter { onWorker2.contains(shards.shard(of: $0)) })
                try #require(!downUsers.isEmpty && downUsers.count < users.count)

                var acknowledged: [String: DeductionReceipt] = [:]
                func round(_ name: String) async -> [(user: String, id: String, result: Result<DeductionReceipt, BillingError>, took: Duration)] {
                    await withTaskGroup(of: (String, String, Result<DeductionReceipt, BillingError>, Duration).self) { group in
                        for user in users {
                            group.addTask {
                                let id = "\(name)-\(user)"
                                let started = ContinuousClock.now
                                let result: Result<DeductionReceipt, BillingError>
                                do throws(BillingError) {
                                    result = .success(
                                        try await lanes.deduct(
                                            DeductionRequest(userId: user, serviceName: "passport", count: 1, appId: nil, requestId: id)))
                                } catch { result = .failure(error) }
                                return (user, id, result, ContinuousClock.now - started)
                            }
                        }
                        var results: [(String, String, Result<DeductionReceipt, BillingError>, Duration)] = []
                        for await result in group { results.append(result) }
                        return results.map { (user: $0.0, id: $0.1, result: $0.2, took: $0.3) }
                    }
                }

                for result in await round("before") {
                    if case .success(let receipt) = result.result { acknowledged[result.id] = receipt }
                }
                #expect(acknowledged.count == users.count)

                try Scale.script("citus.sh", ["stop-worker", "2"])
                for result in await round("down") {
                    switch result.result {
                    case .success(let receipt):
                        #expect(!downUsers.contains(result.user), "\(result.user) charged on a stopped worker")
                        acknowledged[result.id] = receipt
                    case .failure(let error):
                        #expect(downUsers.contains(result.user), "\(result.user): \(error)")
                        // UNAVAILABLE is 503 over HTTP and UNAVAILABLE over gRPC (the one mapping).
                        #expect(error.code == "UNAVAILABLE" && error.kind == .unavailable, "\(String(reflecting: error))")
                        #expect(result.took < .seconds(5), "failed after \(result.took)")
                    }
                }
                try Scale.script("citus.sh", ["start-worker", "2"])

                // Back: every user is charged again (a first attempt may meet a connection the
                // coordinator had to the old process; the same request id is retried).
                for user in users {
                    let id = "after-\(user)"
                    var answer: DeductionReceipt?
                    var lastError: BillingError?
                    for _ in 0..<20 where answer == nil {
                        do throws(BillingError) {
                            answer = try await lanes.deduct(
                                DeductionRequest(userId: user, serviceName: "passport", count: 1, appId: nil, requestId: id))
                        } catch {
                            lastError = error
                        }
                        if answer == nil { try await Task.sleep(for: .milliseconds(250)) }
                    }
                    acknowledged[id] = try #require(answer, "\(user) not served after the worker came back: \(lastError.map { String(reflecting: $0) } ?? "")")
                }
                await lanes.shutdown()

                let stored = try await pool.withConnection { connection in
                    try connection.query(
                        """
                        SELECT request_id, array_remove(ARRAY[id, paired_record_id], NULL)::text FROM billing_record
                        WHERE balance_after_fen IS NOT NULL
                        """
                    ).all
                }
                var storedIds: [String: String] = [:]
                for row in stored { storedIds[try row.string(0)] = try row.string(1) }
                for (id, receipt) in acknowledged {
                    #expect(storedIds[id] == PostgresText.int64Array(receipt.recordIds), "\(id) acknowledged, not stored as answered")
                }
                let negative = try await pool.withConnection { try $0.query("SELECT count(*) FROM user_balance WHERE balance_fen < 0")[0].int64(0) }
                #expect(negative == 0)
                let report = try await LedgerAudit(pool: pool).run()
                #expect(report.isClean, "\(report)")
                await pool.shutdown()
            }
        }
    }
}

import BillingCore
@testable import BillingPostgres
import Foundation
import Testing

/// A lost COMMIT answer, lock waits and the reset meeting the lanes: each was a way to
/// charge twice or stall a lane before.
@Suite("Lanes under faults: the fate of a lost commit, bounded lock waits, no stray accounts", .timeLimit(.minutes(2)))
struct LaneHardeningTests {
    /// A transaction left open on its own connection, holding a row it inserted.
    struct OpenTransaction {
        let connection: PostgresConnection
        let transactionId: Int64

        init(_ config: PostgresConfig, user: String) throws {
            connection = try PostgresConnection.connect(config)
            try connection.query("BEGIN")
            transactionId = try connection.query("SELECT txid_current()")[0].int64(0)
            try connection.query("INSERT INTO user_balance (user_id, balance_fen) VALUES ($1, 777)", [user])
        }
    }

    func balanceRows(_ db: TestLedger, _ user: String) async throws(BillingError) -> Int64 {
        try await db.pool.withConnection { connection in
            try connection.query("SELECT count(*) FROM user_balance WHERE user_id = $1", [user])[0].int64(0)
        }
    }

    func deleteBalanceRow(_ db: TestLedger, _ user: String) async throws(BillingError) {
        _ = try await db.pool.withConnection { connection in
            try connection.query("DELETE FROM user_balance WHERE user_id = $1", [user])
        }
    }

    @Test("a committed or rolled-back transaction is told by its own fate")
    func endedTransactions() async throws {
        try await TestLedger.with { db in
            let asker = try PostgresConnection.connect(db.config)
            defer { asker.close() }
            let committed = try OpenTransaction(db.config, user: "fate-c")
            try committed.connection.query("COMMIT")
            #expect(
                TransactionFate.resolve(
                    transactionId: committed.transactionId, backendPID: committed.connection.backendPID, on: asker)
                    == .committed)
            let rolledBack = try OpenTransaction(db.config, user: "fate-r")
            try rolledBack.connection.query("ROLLBACK")
            #expect(
                TransactionFate.resolve(
                    transactionId: rolledBack.transactionId, backendPID: rolledBack.connection.backendPID, on: asker)
                    == .aborted)
            committed.connection.close()
            rolledBack.connection.close()
            // The committed row stays: clean it so the audit sees no unexplained balance.
            try await deleteBalanceRow(db, "fate-c")
        }
    }

    @Test("a transaction still in progress is waited for, not mistaken for one that never landed")
    func inProgressThenCommits() async throws {
        try await TestLedger.with { db in
            let asker = try PostgresConnection.connect(db.config)
            defer { asker.close() }
            let open = try OpenTransaction(db.config, user: "fate-late")
            // Asked while in progress, the old design's question ("is its row there?") says no.
            let visible = try asker.query("SELECT count(*) FROM user_balance WHERE user_id = 'fate-late'")[0].int64(0)
            #expect(visible == 0)
            let committer = Thread {
                Thread.sleep(forTimeInterval: 0.3)
                _ = try? open.connection.query("COMMIT")
            }
            committer.start()
            let fate = TransactionFate.resolve(
                transactionId: open.transactionId, backendPID: open.connection.backendPID, on: asker,
                patience: .seconds(20))
            #expect(fate == .committed)
            #expect(try await balanceRows(db, "fate-late") == 1)
            open.connection.close()
            try await deleteBalanceRow(db, "fate-late")
        }
    }

    @Test("a transaction in progress past the patience is ended, and then it is known not to have landed")
    func inProgressTerminated() async throws {
        try await TestLedger.with { db in
            let asker = try PostgresConnection.connect(db.config)
            defer { asker.close() }
            let open = try OpenTransaction(db.config, user: "fate-stuck")
            let fate = TransactionFate.resolve(
                transactionId: open.transactionId, backendPID: open.connection.backendPID, on: asker,
                patience: .milliseconds(200))
            #expect(fate == .aborted)
            #expect(!open.connection.isAlive)
            #expect(try await balanceRows(db, "fate-stuck") == 0)
            open.connection.close()
        }
    }

    @Test("a rejected deduction of an unknown user leaves no account row behind")
    func rejectedUnknownUser() async throws {
        try await TestLedger.with { db in
            // 1,000 free payment calls, then 10 fen each: 1,001 calls need 10 fen the user lacks.
            let refused: DeductionReceipt? = try? await db.deduct("ghost", "payment", count: 1_001)
            #expect(refused == nil)
            let ghostRows = try await balanceRows(db, "ghost")
            #expect(ghostRows == 0)
            // In a batch with others: only the accepted user gets a row.
            async let rejected: DeductionReceipt? = try? await db.deduct("ghost2", "payment", count: 5_000)
            async let accepted: DeductionReceipt? = try? await db.deduct("newcomer", "payment", count: 3)
            let outcomes = await (rejected, accepted)
            #expect(outcomes.0 == nil && outcomes.1?.freeCount == 3)
            let rows = (try await balanceRows(db, "ghost2"), try await balanceRows(db, "newcomer"))
            #expect(rows.0 == 0 && rows.1 == 1)
        }
    }

    @Test("a balance row deleted behind the lane's back is noticed under the lock and created again")
    func deletedKnownRow() async throws {
        try await TestLedger.with(lanes: .init(laneCount: 1)) { db in
            // The lane has seen this user's committed row: its next batches skip creating it.
            #expect(try await db.deduct("vanishing", "payment").freeCount == 1)
            #expect(try await balanceRows(db, "vanishing") == 1)
            try await deleteBalanceRow(db, "vanishing")
            // Free calls only, so the deleted row held no money the audit would miss.
            let again = try await db.deduct("vanishing", "payment", count: 2)
            #expect(again.freeCount == 2)
            #expect(again.freeRemainingAfter == 997)
            #expect(try await balanceRows(db, "vanishing") == 1)
            #expect(try await db.deduct("vanishing", "payment").freeRemainingAfter == 996)
        }
    }

    @Test("a replay in a batch that skipped reading stored answers is rolled back, redone with them, charged once")
    func replayWithoutRead() async throws {
        try await TestLedger.with(lanes: .init(laneCount: 1)) { db in
            let first = try await db.deduct("replayer", "payment", count: 2, requestId: "r1")
            // One batch: the replay of r1 (accepted again if taken for new) and a new request.
            func request(_ id: String, count: Int64) throws -> DeductionRequest {
                try DeductionRequest(userId: "replayer", serviceName: "payment", count: count, requestId: id)
            }
            let answers = await db.lanes.deductAll([try request("r1", count: 2), try request("r2", count: 3)])
            let replay = try answers[0].get()
            #expect(replay.replayed && replay.recordIds == first.recordIds && replay.freeRemainingAfter == 998)
            #expect(try answers[1].get().freeRemainingAfter == 995)
            let conflict = await db.lanes.deductAll([try request("r1", count: 5)])
            #expect(throws: BillingError.idempotencyConflict(requestId: "r1")) { try conflict[0].get() }
            // Replays keep coming in runs: the next batches read first and still answer right.
            let again = try await db.deduct("replayer", "payment", count: 3, requestId: "r2")
            #expect(again.replayed && again.freeRemainingAfter == 995)
            let records = try await db.pool.withConnection { connection in
                try connection.query("SELECT count(*), sum(count) FROM billing_record WHERE user_id = 'replayer'")[0]
            }
            #expect(try records.int64(0) == 2 && records.int64(1) == 5)
        }
    }

    @Test("a replay refused now (the money spent since) is still answered as the stored deduction")
    func refusedReplayWithoutRead() async throws {
        try await TestLedger.with(lanes: .init(laneCount: 1)) { db in
            try await db.fund("spender", fen: 20)
            // 1,000 free payment calls and 2 at 10 fen: the balance is spent.
            let first = try await db.deduct("spender", "payment", count: 1_002, requestId: "all-in")
            #expect(first.balanceAfterFen == .zero && first.paidCount == 2)
            let retry = try await db.deduct("spender", "payment", count: 1_002, requestId: "all-in")
            #expect(retry.replayed && retry.recordIds == first.recordIds)
            #expect(try await db.balance("spender") == .zero)
        }
    }

    @Test("after a replay, the next batches read the stored answers first, then stop")
    func replayWatch() {
        let watch = ReplayWatch(afterReplay: 3)
        #expect(!watch.shouldRead())
        watch.replaySeen()
        #expect((0..<5).map { _ in watch.shouldRead() } == [true, true, true, false, false])
    }

    @Test("the users a lane remembers stay within their bound")
    func knownUsersBound() {
        let known = KnownBalanceRows(limit: 3)
        known.remember(["a", "b", "c"])
        #expect(known.unknown(among: ["a", "d", "c", "e"]) == ["d", "e"])
        known.remember(["d"])
        #expect(known.count == 1)
        #expect(known.unknown(among: ["a", "d"]) == ["a"])
        known.forgetAll()
        #expect(known.unknown(among: ["d"]) == ["d"])
    }

    @Test("a row lock held elsewhere delays a lane by the lock timeout at most; the lane then recovers")
    func boundedLockWait() async throws {
        try await TestLedger.with(lanes: .init(laneCount: 1)) { db in
            try await db.fund("locked", fen: 1_000)
            var config = db.config
            config.lockTimeoutMilliseconds = 300
            config.applicationName += "-short-locks"
            let lanes = DeductionLanes(
                config: config, catalog: .platformDefault, calendar: .platformDefault, clock: db.clock,
                settings: .init(laneCount: 1)
            ).started()
            let holder = try PostgresConnection.connect(db.config)
            try holder.query("BEGIN")
            try holder.query("SELECT 1 FROM user_balance WHERE user_id = 'locked' FOR UPDATE")
            let clock = ContinuousClock()
            let started = clock.now
            do throws(BillingError) {
                _ = try await lanes.deduct(DeductionRequest(userId: "locked", serviceName: "passport", count: 1))
                Issue.record("a deduction behind a held lock was acknowledged")
            } catch {
                #expect(error.code == "UNAVAILABLE")
            }
            // Two attempts of 300 ms each, not forever.
            #expect(clock.now - started < .seconds(3), "took \(clock.now - started)")
            // Other users of the same lane go on meanwhile.
            let other = try await lanes.deduct(DeductionRequest(userId: "free-user", serviceName: "passport", count: 1))
            #expect(other.freeCount == 1)
            try holder.query("ROLLBACK")
            holder.close()
            let after = try await lanes.deduct(
                DeductionRequest(userId: "locked", serviceName: "passport", count: 1, requestId: "after-lock"))
            #expect(after.freeCount == 1)
            await lanes.shutdown()
        }
    }

    @Test("a lock held on one user's row fails only that user's deductions of a batch; the others commit")
    func lockWaitIsolated() async throws {
        try await TestLedger.with(lanes: .init(laneCount: 1)) { db in
            try await db.fund("held", fen: 1_000)
            var config = db.config
            config.lockTimeoutMilliseconds = 300
            config.applicationName += "-isolated"
            // Not started yet: both deductions are queued first, so they form one batch.
            let lanes = DeductionLanes(
                config: config, catalog: .platformDefault, calendar: .platformDefault, clock: db.clock,
                settings: .init(laneCount: 1))
            let holder = try PostgresConnection.connect(db.config)
            try holder.query("BEGIN")
            try holder.query("SELECT 1 FROM user_balance WHERE user_id = 'held' FOR UPDATE")
            let held = Task { () -> String in
                do throws(BillingError) {
                    _ = try await lanes.deduct(
                        DeductionRequest(userId: "held", serviceName: "passport", count: 1, requestId: "h1"))
                    return "ok"
                } catch { return error.code }
            }
            let free = Task { () -> String in
                do throws(BillingError) {
                    _ = try await lanes.deduct(
                        DeductionRequest(userId: "bystander", serviceName: "passport", count: 1, requestId: "b1"))
                    return "ok"
                } catch { return error.code }
            }
            for _ in 0..<200 where lanes.queuedCount < 2 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(lanes.queuedCount == 2)
            lanes.start()
            #expect(await free.value == "ok")
            #expect(await held.value == "UNAVAILABLE")
            try holder.query("ROLLBACK")
            holder.close()
            await lanes.shutdown()
            let stored = try await db.pool.withConnection { connection in
                try connection.query("SELECT user_id FROM billing_record ORDER BY user_id").all.map { try $0.string(0) }
            }
            #expect(stored == ["bystander"])
        }
    }

    @Test("the reset in small chunks covers every known user once, including users with quota rows only")
    func chunkedReset() async throws {
        try await TestLedger.with { db in
            let period = db.period
            let next = period.next
            _ = try await db.pool.withConnection { connection in
                try connection.query(
                    "INSERT INTO user_balance (user_id) SELECT 'r' || lpad(g::text, 3, '0') FROM generate_series(1, 40) g")
                // Quota rows only (a user whose balance row never existed), interleaved in order.
                try connection.query(
                    """
                    INSERT INTO free_quota (user_id, period, service_name, total)
                    SELECT 'r' || lpad(g::text, 3, '0') || 'q', $1, 'passport', 10000 FROM generate_series(1, 9) g
                    """, [period.text])
            }
            let reset = PostgresQuotaReset(pool: db.pool, chunkUsers: 7)
            let report = try await reset.createQuotaRows(for: next, catalog: .platformDefault)
            #expect(report.usersCovered == 49)
            #expect(report.rowsCreated == 49 * 3)
            let again = try await reset.createQuotaRows(for: next, catalog: .platformDefault)
            #expect(again.rowsCreated == 0)
            let rows = try await db.pool.withConnection { connection in
                try connection.query("SELECT count(DISTINCT user_id), count(*) FROM free_quota WHERE period = $1", [next.text])[0]
            }
            #expect(try rows.int64(0) == 49 && rows.int64(1) == 49 * 3)
        }
    }
}

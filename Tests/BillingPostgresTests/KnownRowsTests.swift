@testable import BillingPostgres
import BillingCore
import Foundation
import Synchronization
import Testing
import TestSupport

/// Batches of keyed deductions applied in one round trip from the rows the lane's last
/// commits left (`BatchApplier.applyKnown`): they must charge exactly what a batch that reads
/// first charges, and never from rows that changed since. On Citus (`make test-scale`) the
/// lanes always read first: the same tests then check the money alone.
@Suite("Lane batches from the rows the lane's last commits left", .timeLimit(.minutes(3)))
struct KnownRowsTests {
    static let catalog = try! ServiceCatalog(entries: [
        // 0.3 fen a call: the batches carry sub-fen remainders.
        CatalogEntry(name: "tiny", price: try! UnitPrice(yuanText: "0.003"), freeCallsPerMonth: 5),
        CatalogEntry(name: "job", priceFen: Fen(3), freeCallsPerMonth: 4),
    ])

    /// Batches committed without a read: none on Citus.
    static func known(_ count: Int) -> Int { TestEnvironment.citus ? 0 : count }

    /// Counts the batches committed without a read.
    final class KnownCount: LaneObserver {
        private let count = Mutex(0)
        private let batches = Mutex(0)
        var value: Int { count.withLock { $0 } }
        /// Batches committed after reading first.
        var readFirst: Int { batches.withLock { $0 } - value }
        func batchCommitted(lane: Int, size: Int, attempts: Int) { batches.withLock { $0 += 1 } }
        func batchFailed(lane: Int, size: Int, error: BillingError) {}
        func knownRowsCommitted(lane: Int) { count.withLock { $0 += 1 } }
    }

    /// What a run of the script left: every answer, and every row that money or alerts touch.
    struct Outcome: Equatable {
        var answers: [String] = []
        var rows: [String] = []
    }

    /// Twelve rounds of eight deductions on six users, two with caps or thresholds, one short of
    /// money, with sub-fen prices, free quota running out, refusals and (in the last three
    /// rounds) replayed request ids.
    static func script(_ db: TestLedger) async throws -> Outcome {
        let settings = PostgresSettings(pool: db.pool)
        _ = try await settings.update("u1", with: SettingsUpdate(monthlySpendCapFen: .set(20)))
        _ = try await settings.update("u2", with: SettingsUpdate(lowBalanceThresholdFen: .set(30)))
        for user in 0..<5 { try await db.fund("u\(user)", fen: 50) }
        try await db.fund("u5", fen: 2)
        var seed: UInt64 = 42
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        var outcome = Outcome()
        var issued: [DeductionRequest] = []
        for round in 0..<12 {
            var requests: [DeductionRequest] = []
            for item in 0..<8 {
                // Replays last: after one, a lane reads first for a while (`ReplayWatch`).
                if round >= 9, next(4) == 0 {
                    requests.append(issued[next(issued.count)])
                    continue
                }
                let request = try DeductionRequest(
                    userId: "u\(next(6))", serviceName: next(2) == 0 ? "tiny" : "job", count: Int64(1 + next(3)),
                    requestId: "r\(round)-\(item)")
                requests.append(request)
                issued.append(request)
            }
            for (request, answer) in zip(requests, await db.lanes.deductAll(requests)) {
                switch answer {
                case .success(let receipt):
                    outcome.answers.append(
                        "\(request.requestId ?? "") free \(receipt.freeCount) paid \(receipt.paidCount) cost \(receipt.costFen.value) "
                            + "balance \(receipt.balanceAfterFen.value) left \(receipt.freeRemainingAfter) "
                            + "available \(receipt.availableAfterFen?.value ?? -1) replayed \(receipt.replayed)")
                case .failure(let error):
                    outcome.answers.append("\(request.requestId ?? "") \(error.code)")
                }
            }
        }
        outcome.rows = try await db.pool.withConnection { connection in
            var rows: [String] = []
            for query in [
                """
                SELECT concat_ws(' ', user_id, balance_fen, carries, held_fen, spend_period, spend_fen, low_armed,
                    depleted_armed, cap_alerts_fired, cap_reached_fired) FROM user_balance ORDER BY user_id
                """,
                "SELECT concat_ws(' ', user_id, service_name, total, used, held) FROM free_quota ORDER BY 1",
                """
                SELECT concat_ws(' ', user_id, request_id, service_name, type, count, amount_fen, price_micro_fen)
                FROM billing_record ORDER BY 1
                """,
                "SELECT concat_ws(' ', user_id, type, data) FROM billing_event WHERE type <> 'recharge.succeeded' ORDER BY 1",
            ] {
                rows += try connection.query(query).all.map { try $0.string(0) }
            }
            return rows
        }
        return outcome
    }

    @Test("the same deductions answer and store exactly the same with the read before every batch and without")
    func sameAsReadingFirst() async throws {
        let reading = KnownCount()
        let known = KnownCount()
        var readFirst = Outcome()
        var fromKnown = Outcome()
        try await TestLedger.with(lanes: .init(laneCount: 2, knownRows: false), catalog: Self.catalog, observer: reading) {
            readFirst = try await Self.script($0)
        }
        try await TestLedger.with(lanes: .init(laneCount: 2, knownRows: true), catalog: Self.catalog, observer: known) {
            fromKnown = try await Self.script($0)
        }
        #expect(reading.value == 0)
        #expect(known.value >= Self.known(10), "most batches after the first of each user come from known rows")
        if TestEnvironment.citus { #expect(known.value == 0) }
        #expect(readFirst.answers.count == 96 && readFirst.answers.contains { $0.hasSuffix("replayed true") })
        #expect(readFirst.answers.contains { $0.hasSuffix("INSUFFICIENT_BALANCE") || $0.hasSuffix("SPEND_CAP_REACHED") })
        #expect(fromKnown.answers == readFirst.answers)
        #expect(fromKnown.rows == readFirst.rows)
    }

    @Test("a second batch that reads first, with the lane's stock of ids above its target, still leaves its users' next ids ascending")
    func idsAfterTwoReads() async throws {
        try await TestLedger.with(lanes: .init(laneCount: 1), catalog: Self.catalog) { db in
            let first = (0..<100).map { "first\($0)" }
            let second = (0..<50).map { "second\($0)" }
            for user in first + second { try await db.fund(user, fen: 100) }
            var ids: [String: [Int64]] = [:]
            func deduct(_ users: [String], round: Int) async throws {
                let requests = try users.map {
                    try DeductionRequest(userId: $0, serviceName: "job", count: 1, requestId: "\($0)-\(round)")
                }
                for (request, answer) in zip(requests, await db.lanes.deductAll(requests)) {
                    ids[request.userId, default: []] += try answer.get().recordIds
                }
            }
            // Both read first (unknown users): the first leaves more than the target at hand, so
            // the second needs none beyond its own.
            try await deduct(first, round: 0)
            try await deduct(second, round: 0)
            // Known users now: ids from the stock.
            try await deduct(first + second, round: 1)
            #expect(ids.values.allSatisfy { $0.count == 2 && $0 == $0.sorted() }, "\(ids.filter { $0.value != $0.value.sorted() })")
        }
    }

    @Test("batches that read nothing take record ids only once the lane runs low: 2,500 deductions over the refills, each charged once, each user's ids ascending")
    func idsAcrossRefills() async throws {
        let known = KnownCount()
        try await TestLedger.with(lanes: .init(laneCount: 1), catalog: Self.catalog, observer: known) { db in
            let users = (0..<100).map { "ids\($0)" }
            for user in users { try await db.fund(user, fen: 100) }
            var ids: [String: [Int64]] = [:]
            var balances: [Int64] = []
            var readingFirst = 0
            // 25 rounds of 200 ids each (two a deduction, taken whatever it writes): the lane's
            // stock of 4,096 runs below the low-water mark and is refilled by a batch that reads nothing.
            for round in 0..<25 {
                let requests = try users.map {
                    try DeductionRequest(userId: $0, serviceName: "job", count: 1, requestId: "\($0)-\(round)")
                }
                for (request, answer) in zip(requests, await db.lanes.deductAll(requests)) {
                    let receipt = try answer.get()
                    ids[request.userId, default: []] += receipt.recordIds
                    if round == 24 { balances.append(receipt.balanceAfterFen.value) }
                }
                if round == 0 { readingFirst = known.readFirst }
            }
            let all = ids.values.flatMap { $0 }
            #expect(all.count == 2_500 && Set(all).count == 2_500)
            #expect(ids.values.allSatisfy { $0 == $0.sorted() }, "one user's records keep ascending ids")
            #expect(balances == Array(repeating: 100 - 21 * 3, count: 100), "4 free calls, then 3 fen each")
            #expect(known.value >= Self.known(24))
            if !TestEnvironment.citus { #expect(known.readFirst == readingFirst, "no batch ran out of ids and read") }
        }
    }

    @Test("a row changed behind the lane's back — balance, quota total, a quota row created — is read, not charged from memory")
    func changedRowsAreRead() async throws {
        let known = KnownCount()
        try await TestLedger.with(lanes: .init(laneCount: 1), catalog: Self.catalog, observer: known) { db in
            try await db.fund("u1", fen: 100)
            func deduct(_ service: String, _ count: Int64, _ id: String) async throws -> DeductionReceipt {
                try await db.lanes.deduct(
                    try DeductionRequest(userId: "u1", serviceName: service, count: count, requestId: id))
            }
            func sql(_ text: String) async throws {
                try await db.pool.withConnection { connection in _ = try connection.query(text) }
            }
            let first = try await deduct("job", 4, "r1")  // the free calls, read first
            #expect(first.freeCount == 4 && known.value == 0)
            let second = try await deduct("job", 1, "r2")
            #expect(second.costFen == Fen(3) && second.balanceAfterFen == Fen(97) && known.value == Self.known(1))

            // As the per-call strategy would: the balance moves, the version does not.
            try await sql("UPDATE user_balance SET balance_fen = balance_fen - 7 WHERE user_id = 'u1'")
            let third = try await deduct("job", 1, "r3")
            #expect(third.balanceAfterFen == Fen(87) && known.value == Self.known(1))
            let fourth = try await deduct("job", 1, "r4")
            #expect(fourth.balanceAfterFen == Fen(84) && known.value == Self.known(2))

            // The price administration raises the allowance.
            try await sql(
                "UPDATE free_quota SET total = total + 2, version = version + 1 WHERE user_id = 'u1' AND service_name = 'job'")
            let fifth = try await deduct("job", 3, "r5")
            #expect(fifth.freeCount == 2 && fifth.paidCount == 1 && fifth.balanceAfterFen == Fen(81) && known.value == Self.known(2))

            // The monthly reset creates a row this lane has not seen, with another allowance.
            let period = db.period.text
            try await sql(
                "INSERT INTO free_quota (user_id, period, service_name, total) VALUES ('u1', '\(period)', 'tiny', 1)")
            let sixth = try await deduct("tiny", 2, "r6")
            #expect(sixth.freeCount == 1 && sixth.paidCount == 1 && known.value == Self.known(2))

            // Record ids keep ascending, whichever way a batch took them.
            let ids = [first, second, third, fourth, fifth, sixth].flatMap(\.recordIds)
            #expect(ids == ids.sorted() && Set(ids).count == ids.count)
            // Put back what the per-call-like update took, so the ledger explains the balance.
            try await sql("UPDATE user_balance SET balance_fen = balance_fen + 7 WHERE user_id = 'u1'")
        }
    }

    /// Lanes of their own on `db`'s schema, told apart in pg_stat_activity by `name`.
    static func lanes(_ db: TestLedger, _ name: String, lockTimeout: Int, observer: KnownCount) -> DeductionLanes {
        var config = db.config
        config.lockTimeoutMilliseconds = lockTimeout
        config.applicationName += "-\(name)"
        return DeductionLanes(
            config: config, catalog: Self.catalog, calendar: .platformDefault, clock: db.clock,
            settings: .init(laneCount: 1), observer: observer)
    }

    static func deduct(_ lanes: DeductionLanes, _ user: String, _ id: String) async -> String {
        do throws(BillingError) {
            let receipt = try await lanes.deduct(
                try DeductionRequest(userId: user, serviceName: "job", count: 1, requestId: id))
            return "balance \(receipt.balanceAfterFen.value)"
        } catch {
            return error.code
        }
    }

    @Test("a row lock held elsewhere fails only its user's deductions of a one-round-trip batch; the others commit")
    func lockWaitIsolated() async throws {
        try await TestLedger.with(lanes: .init(laneCount: 1), catalog: Self.catalog) { db in
            let known = KnownCount()
            let lanes = Self.lanes(db, "known-locks", lockTimeout: 300, observer: known).started()
            for user in ["held", "bystander"] {
                try await db.fund(user, fen: 100)
                _ = try await lanes.deduct(try DeductionRequest(userId: user, serviceName: "job", count: 4, requestId: "\(user)-free"))
                #expect(await Self.deduct(lanes, user, "\(user)-1") == "balance 97")  // now known to the lane
            }
            let before = known.value
            let holder = try PostgresConnection.connect(db.config)
            try holder.query("BEGIN")
            try holder.query("SELECT 1 FROM user_balance WHERE user_id = 'held' FOR UPDATE")
            async let held = Self.deduct(lanes, "held", "held-2")
            async let bystander = Self.deduct(lanes, "bystander", "bystander-2")
            let answers = await [held, bystander]
            try holder.query("ROLLBACK")
            holder.close()
            // Both users were known, so the batch first went in one round trip and waited there;
            // after the lock timeout the lane tried user by user.
            #expect(before == Self.known(2))
            #expect(answers == ["UNAVAILABLE", "balance 94"])
            #expect(await Self.deduct(lanes, "held", "held-2") == "balance 94", "the retry is charged once")
            await lanes.shutdown()
        }
    }

    // Plain PostgreSQL only: on Citus the lanes read first, and the lock is waited for on a worker.
    @Test(
        "a one-round-trip batch whose connection is cut is never charged twice: its retry with the same id settles it",
        .enabled(if: !TestEnvironment.citus))
    func connectionCut() async throws {
        try await TestLedger.with(lanes: .init(laneCount: 1), catalog: Self.catalog) { db in
            let known = KnownCount()
            let lanes = Self.lanes(db, "known-cut", lockTimeout: 20_000, observer: known).started()
            try await db.fund("u1", fen: 100)
            _ = try await lanes.deduct(try DeductionRequest(userId: "u1", serviceName: "job", count: 4, requestId: "free"))
            #expect(await Self.deduct(lanes, "u1", "r1") == "balance 97")
            // The lane's next transaction waits for this lock, and its backend is ended meanwhile.
            let holder = try PostgresConnection.connect(db.config)
            try holder.query("BEGIN")
            try holder.query("SELECT 1 FROM user_balance WHERE user_id = 'u1' FOR UPDATE")
            async let cut = Self.deduct(lanes, "u1", "r2")
            var ended = false
            for _ in 0..<400 where !ended {
                try await Task.sleep(for: .milliseconds(10))
                ended =
                    try holder.query(
                        """
                        SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                        WHERE application_name LIKE '%-known-cut-lane' AND wait_event_type = 'Lock'
                        """)[0].int64(0) > 0
            }
            #expect(ended, "the lane's backend waited for the lock and was ended")
            try holder.query("ROLLBACK")
            holder.close()
            // Either answer is right: not charged and told so, or charged (retried once the fate
            // was asked). Whichever, the caller's retry with the same id leaves one charge.
            let first = await cut
            #expect(first == "UNAVAILABLE" || first == "balance 94")
            #expect(await Self.deduct(lanes, "u1", "r2") == "balance 94")
            #expect(try await db.balance("u1") == Fen(94))
            await lanes.shutdown()
        }
    }

    @Test("the clock check rolls back a transaction whose now() is not within the tolerance of the lane's instant")
    func clockCheck() async throws {
        try await TestSchema.with(prefix: "clock") { schema in
            let connection = try PostgresConnection.connect(schema.config)
            defer { connection.close() }
            try LaneStatement.prepareAll(on: connection)
            let now = try connection.query("SELECT (extract(epoch FROM now()) * 1000000)::bigint")[0].int64(0)
            let calendar = BillingCalendar.platformDefault
            let period = calendar.period(containing: PostgresText.date(microseconds: now)).text
            let zone = calendar.timeZone.identifier
            func check(_ instant: Int64?, _ period: String) -> String {
                do {
                    let rows = try connection.pipeline([
                        .sql("BEGIN"), .prepared(LaneStatement.checkClock.rawValue, [instant.map(String.init), "500000", zone, period]),
                        .sql("ROLLBACK"),
                    ])
                    return (try rows[1].all.first?.int64(0)).map { $0 > 0 ? "named" : "unnamed" } ?? "no row"
                } catch {
                    _ = try? connection.query("ROLLBACK")
                    return error.sqlState ?? "\(error)"
                }
            }
            // The transactions below begin a moment after `now` was read.
            #expect(check(now, period) == "named")
            #expect(check(now - 10_000_000, period) == "22012")
            #expect(check(now + 10_000_000, period) == "22012")
            #expect(check(now, "1999-01") == "22012")
            #expect(check(nil, "1999-01") == "named", "a fixed test clock is not compared")
        }
    }

    @Test("the row memory answers only for every user of the batch in its period; the ids come back in the order taken")
    func memories() throws {
        let cache = LaneRowCache(limit: 3)
        let rows = LaneRowCache.Rows(
            balance: Fen(5), version: 2, heldFen: .zero, carries: [:], spend: nil, alerts: nil, settings: nil, quotas: [:])
        let may = try QuotaPeriod(text: "2026-05")
        cache.remember([("a", rows), ("b", rows)], in: may)
        #expect(cache.rows(of: ["a", "b"], in: may) == [rows, rows])
        #expect(cache.rows(of: ["a", "c"], in: may) == nil)
        #expect(cache.rows(of: ["a"], in: try QuotaPeriod(text: "2026-06")) == nil)
        cache.forget(["a"])
        #expect(cache.rows(of: ["a"], in: may) == nil)
        cache.remember([("c", rows), ("d", rows)], in: may)
        #expect(cache.count <= 3, "bounded")
        cache.remember([("e", rows)], in: try QuotaPeriod(text: "2026-06"))
        #expect(cache.count == 1, "a new period starts empty")

        let ids = RecordIdReservoir()
        ids.add([10, 11, 12])
        #expect(ids.take(4) == nil && ids.count == 3)
        #expect(ids.take(2) == [10, 11])
        ids.add([20, 21])
        #expect(ids.take(3) == [12, 20, 21] && ids.count == 0)
        #expect(ids.shortfall(after: 8) == RecordIdReservoir.target + 8)

        // A batch that reads nothing takes ids only once the lane runs low, then enough for
        // the largest batch to find its ids at hand.
        #expect(ids.refill() == RecordIdReservoir.target)
        ids.add(Array(1...Int64(RecordIdReservoir.target)))
        #expect(ids.refill() == 0)
        _ = ids.take(RecordIdReservoir.target - RecordIdReservoir.lowWater)
        #expect(ids.refill() == 0 && ids.count >= 2 * DeductionLanes.Settings().maxBatchCount)
        _ = ids.take(1)
        #expect(ids.refill() == RecordIdReservoir.target - RecordIdReservoir.lowWater + 1)
    }
}

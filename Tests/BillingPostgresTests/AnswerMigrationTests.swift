import BillingCore
import BillingPostgres
import Foundation
import Testing
import TestSupport

/// `0009_answer_in_record`: the stored answers of deductions move from `deduction_request`
/// onto each deduction's first record, and a deduction applied before the migration is still
/// answered as a replay after it.
@Suite("The stored deduction answers move into the records", .timeLimit(.minutes(1)), .freshSchema(migrated: false))
struct AnswerMigrationTests {
    static let catalog = try! ServiceCatalog(entries: [
        CatalogEntry(name: "passport", priceFen: Fen(5), freeCallsPerMonth: 0)
    ])

    /// Migrates up to (not including) 0009, writes two applied deductions as the lanes wrote
    /// them then (one split into a free and a paid record, one paid) and an unkeyed record.
    static func ledgerBeforeMigration(_ connection: PostgresConnection) throws -> Migrator {
        let all = try Migrator(directory: TestLedger.sqlDirectory)
        try Migrator(migrations: all.migrations.filter { $0.version < "0009" }).migrate(connection)
        let period = "to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"
        try connection.query("INSERT INTO user_balance (user_id, balance_fen) VALUES ('u1', 975)")
        try connection.query(
            """
            INSERT INTO billing_record (id, user_id, service_name, type, count, amount_fen, request_id, period, created_at,
                price_micro_fen, price_version)
            VALUES (1, 'u1', 'passport', 1, 2, 0, 'split', \(period), now(), 5000000, 1),
                (2, 'u1', 'passport', 2, 3, 15, 'split', \(period), now(), 5000000, 1),
                (3, 'u1', 'passport', 2, 1, 5, 'paid', \(period), now(), 5000000, 1),
                (4, 'u1', 'passport', 2, 1, 5, NULL, \(period), now(), 5000000, 1)
            """)
        try connection.query("SELECT setval('billing_record_id_seq', 4)")
        try connection.query(
            """
            INSERT INTO deduction_request (user_id, request_id, service_name, count, record_ids, free_count, paid_count,
                cost_fen, balance_after_fen, free_remaining_after, price_micro_fen, price_version, available_after_fen)
            VALUES ('u1', 'split', 'passport', 5, '{1,2}', 2, 3, 15, 985, 0, 5000000, 1, 985),
                ('u1', 'paid', 'passport', 1, '{3}', 0, 1, 5, 980, 0, 5000000, 1, 980)
            """)
        return all
    }

    /// Runs `body` on a connection to the test's schema holding that ledger, with the migrator
    /// of every migration (0009 and later not applied yet) and the schema's configuration.
    static func withLedgerBeforeMigration(
        _ body: (PostgresConnection, Migrator, PostgresConfig) async throws -> Void
    ) async throws {
        let schema = try #require(TestSchema.current)
        let connection = try PostgresConnection.connect(schema.config)
        defer { connection.close() }
        try await body(connection, try ledgerBeforeMigration(connection), schema.config)
    }

    @Test("each answer lands on its deduction's first record, which names the second; the table goes")
    func answersMove() async throws {
        try await Self.withLedgerBeforeMigration { connection, migrator, _ in
            #expect(try migrator.migrate(connection).first == "0009_answer_in_record")

            let rows = try connection.query(
                """
                SELECT id, balance_after_fen, free_remaining_after, available_after_fen, paired_record_id
                FROM billing_record ORDER BY id
                """
            ).all
            let answers = try rows.map {
                try [$0.int64(0), $0.optionalInt64(1), $0.optionalInt64(2), $0.optionalInt64(3), $0.optionalInt64(4)]
            }
            #expect(answers == [[1, 985, 0, 985, 2], [2, nil, nil, nil, nil], [3, 980, 0, 980, nil], [4, nil, nil, nil, nil]])
            #expect(try connection.query("SELECT to_regclass('deduction_request') IS NULL")[0].bool(0))
            // The index keeps one applied deduction per request id.
            let duplicate = #expect(throws: PostgresError.self) {
                try connection.query(
                    """
                    INSERT INTO billing_record (id, user_id, service_name, type, count, amount_fen, request_id, period,
                        created_at, balance_after_fen, free_remaining_after)
                    VALUES (5, 'u1', 'passport', 2, 1, 5, 'paid', '2026-11', now(), 975, 0)
                    """)
            }
            #expect(duplicate?.constraint == "billing_record_request")
        }
    }

    @Test("a deduction applied before the migration is replayed after it with its stored answer")
    func replayAfterMigration() async throws {
        try await Self.withLedgerBeforeMigration { connection, migrator, config in
            try migrator.migrate(connection)

            let lanes = DeductionLanes(
                config: config, catalog: Self.catalog, calendar: .platformDefault, clock: SystemClock(),
                settings: .init(laneCount: 1)
            ).started()
            func outcome(_ count: Int64, _ requestId: String) async -> Result<DeductionReceipt, BillingError> {
                do {
                    return .success(
                        try await lanes.deduct(
                            DeductionRequest(userId: "u1", serviceName: "passport", count: count, requestId: requestId)))
                } catch {
                    return .failure(error)
                }
            }
            let replay = await outcome(5, "split")
            let conflict = await outcome(4, "split")
            let fresh = await outcome(1, "new")
            await lanes.shutdown()

            if case .failure(let error) = replay { Issue.record("\(String(reflecting: error))") }
            let receipt = try replay.get()
            #expect(receipt.replayed)
            #expect(receipt.recordIds == [1, 2])
            #expect(receipt.freeCount == 2 && receipt.paidCount == 3 && receipt.costFen == Fen(15))
            #expect(receipt.balanceAfterFen == Fen(985) && receipt.availableAfterFen == Fen(985))
            #expect(throws: BillingError.idempotencyConflict(requestId: "split")) { try conflict.get() }
            #expect(try fresh.get().balanceAfterFen == Fen(970), "only the new request charged: 975 - 5")
            #expect(try connection.query("SELECT balance_fen FROM user_balance WHERE user_id = 'u1'")[0].int64(0) == 970)
        }
    }

    @Test("the reconcile audit reports an answer whose second record is missing or not the request's paid part")
    func auditChecksPairs() async throws {
        try await Self.withLedgerBeforeMigration { connection, migrator, config in
            try migrator.migrate(connection)
            let pool = PostgresPool(config: config, settings: .init(size: 1)).started()
            let audit = LedgerAudit(pool: pool)
            let clean = try await audit.run().answerDiscrepancies
            try connection.query("UPDATE billing_record SET request_id = 'other' WHERE id = 2")
            let otherRequest = try await audit.run().answerDiscrepancies
            try connection.query("UPDATE billing_record SET paired_record_id = 99 WHERE id = 1")
            let missing = try await audit.run().answerDiscrepancies
            await pool.shutdown()

            #expect(clean.isEmpty)
            #expect(otherRequest == ["user u1 request split: record 1 names 2, not the paid part of the same request"])
            #expect(missing == ["user u1 request split: record 1 names 99, which does not exist"])
        }
    }

    @Test("an answer whose first record is missing stops the migration, and nothing of it is applied")
    func orphanStops() async throws {
        try await Self.withLedgerBeforeMigration { connection, migrator, _ in
            try connection.query("DELETE FROM billing_record WHERE id = 3")
            do {
                try migrator.migrate(connection)
                Issue.record("expected the migration to stop")
            } catch let failure as Migrator.Failure {
                #expect(failure.description.contains("0009_answer_in_record"))
                #expect(failure.description.contains("2 stored deduction answers, 1 found their first record"))
            }
            #expect(try connection.query("SELECT count(*) FROM deduction_request")[0].int64(0) == 2)
            #expect(
                try connection.query(
                    "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'paired_record_id'"
                )[0].int64(0) == 0)
        }
    }
}

import BillingPostgres
import Synchronization
import Foundation
import Testing
import TestSupport

@Suite("Migrations", .timeLimit(.minutes(1)), .freshSchema(migrated: false))
struct MigratorTests {
    /// The test's empty schema (from the `.freshSchema(migrated: false)` trait).
    func withSchema(_ body: (PostgresConfig) throws -> Void) throws {
        let schema = try #require(TestSchema.current)
        try body(schema.config)
    }

    @Test("migrations apply once, in order; a second run applies nothing")
    func idempotent() throws {
        try withSchema { config in
            let connection = try PostgresConnection.connect(config)
            defer { connection.close() }
            let migrator = try Migrator(directory: TestLedger.sqlDirectory)
            #expect(try migrator.migrate(connection) == migrator.migrations.map(\.version))
            #expect(try migrator.migrate(connection).isEmpty)
            #expect(try connection.query("SELECT count(*) FROM user_balance")[0].int64(0) == 0)
        }
    }

    @Test("a migration changed after it was applied stops with a clear error")
    func changedFile() throws {
        try withSchema { config in
            let connection = try PostgresConnection.connect(config)
            defer { connection.close() }
            try Migrator(migrations: [.init(version: "0001_a", sql: "CREATE TABLE a (x INT)")]).migrate(connection)
            let changed = Migrator(migrations: [.init(version: "0001_a", sql: "CREATE TABLE a (x BIGINT)")])
            #expect(throws: Migrator.Failure.self) { try changed.migrate(connection) }
        }
    }

    @Test("a schema that does not exist is named in a clear error, and nothing is created")
    func missingSchema() throws {
        try withSchema { config in
            let missing = "\(config.schema ?? "public")_missing"
            var elsewhere = config
            elsewhere.schema = missing
            let connection = try PostgresConnection.connect(elsewhere)
            defer { connection.close() }
            do {
                try Migrator(directory: TestLedger.sqlDirectory).migrate(connection)
                Issue.record("expected a failure")
            } catch let failure as Migrator.Failure {
                #expect(failure.description.contains(missing) && failure.description.contains("CREATE SCHEMA"))
            }
            #expect(try connection.query("SELECT count(*) FROM pg_namespace WHERE nspname = $1", [missing])[0].int64(0) == 0)
        }
    }

    @Test("a failing migration is rolled back whole and reported with its version")
    func failingMigration() throws {
        try withSchema { config in
            let connection = try PostgresConnection.connect(config)
            defer { connection.close() }
            let broken = Migrator(migrations: [.init(version: "0001_b", sql: "CREATE TABLE b (x INT); SELECT nonsense")])
            do {
                try broken.migrate(connection)
                Issue.record("expected a failure")
            } catch let failure as Migrator.Failure {
                #expect(failure.description.contains("0001_b"))
            }
            #expect(try connection.query("SELECT to_regclass('b') IS NULL")[0].bool(0))
        }
    }

    @Test("a server waits for another's migration past its lock timeout instead of failing to start")
    func waitsPastLockTimeout() async throws {
        try withSchema { config in
            // Another instance holds the migration lock for a second; this one's lock_timeout is 100 ms.
            let holder = try PostgresConnection.connect(config)
            defer { holder.close() }
            try holder.query("SELECT pg_advisory_lock(hashtext('billing-migrations:' || current_schema()))")
            var impatient = config
            impatient.lockTimeoutMilliseconds = 100
            let connection = try PostgresConnection.connect(impatient)
            defer { connection.close() }
            let release = Thread {
                Thread.sleep(forTimeInterval: 1)
                _ = try? holder.query("SELECT pg_advisory_unlock(hashtext('billing-migrations:' || current_schema()))")
            }
            release.start()
            let migrator = try Migrator(directory: TestLedger.sqlDirectory)
            #expect(try migrator.migrate(connection) == migrator.migrations.map(\.version))
        }
    }

    @Test("two servers migrating at once both succeed and apply each file once")
    func concurrent() async throws {
        try withSchema { config in
            let migrator = try Migrator(directory: TestLedger.sqlDirectory)
            let results = Mutex<[[String]]>([])
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                guard let connection = try? PostgresConnection.connect(config) else { return }
                let applied = (try? migrator.migrate(connection)) ?? ["failed"]
                results.withLock { $0.append(applied) }
                connection.close()
            }
            let all = results.withLock { $0 }
            #expect(all.count == 2)
            #expect(all.flatMap { $0 }.sorted() == migrator.migrations.map(\.version))
        }
    }
}

import BillingPostgres
import Foundation
import Testing

/// A fresh PostgreSQL schema for one test (parallel tests never share rows), migrated or
/// empty, dropped afterwards on a connection of its own (a fault test may have restarted
/// the server meanwhile). As a trait, `@Test(.freshSchema())` gives the test
/// `TestSchema.current`; `TestSchema.with { … }` does the same around a closure.
public struct TestSchema: Sendable {
    public let name: String
    /// The test database with this schema searched first.
    public let config: PostgresConfig

    @TaskLocal public static var current: TestSchema?

    public static func with<T>(
        prefix: String = "t", migrated: Bool = true, _ body: (TestSchema) async throws -> T
    ) async throws -> T {
        let name = "\(prefix)_\(UInt64.random(in: 0...UInt64.max))"
        try run("CREATE SCHEMA \(name)")
        var config = TestEnvironment.postgres
        config.schema = name
        config.applicationName = "bt-\(name)"
        let schema = TestSchema(name: name, config: config)
        do {
            if migrated {
                let connection = try PostgresConnection.connect(config)
                defer { connection.close() }
                try Migrator(directory: TestEnvironment.sqlDirectory).migrate(connection)
                if TestEnvironment.citus { try distribute(on: connection) }
            }
            let value = try await body(schema)
            try drop(name)
            return value
        } catch {
            try? drop(name)
            throw error
        }
    }

    /// Distributes the migrated schema as an operator would (docs/scaling.md): statement by
    /// statement, as psql runs the file (one multi-statement query would be one transaction,
    /// which Citus refuses for these).
    private static func distribute(on connection: PostgresConnection) throws {
        try withDDLLock(on: connection) {
            let script = TestEnvironment.repositoryRoot.appendingPathComponent("sql/citus/distribute.sql")
            let code = try String(contentsOf: script, encoding: .utf8).split(separator: "\n")
                .filter { !$0.hasPrefix("--") }.joined(separator: "\n")
                // Four shards (two per worker) still split batches; 32 would make every test
                // schema's distribution several times slower.
                .replacingOccurrences(of: "shard_count => 32", with: "shard_count => 4")
            for statement in code.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
                try connection.query(String(statement))
            }
        }
    }

    /// Parallel tests distributing and dropping schemas on Citus deadlock each other (both
    /// lock the shards of every reference table): on Citus they take turns.
    private static func withDDLLock(on connection: PostgresConnection, _ body: () throws -> Void) throws {
        guard TestEnvironment.citus else { return try body() }
        try connection.query("SELECT pg_advisory_lock(4107)")
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(4107)") }
        try body()
    }

    private static func drop(_ name: String) throws {
        let admin = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { admin.close() }
        try withDDLLock(on: admin) { try admin.query("DROP SCHEMA \(name) CASCADE") }
    }

    private static func run(_ sql: String) throws {
        let admin = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { admin.close() }
        try admin.query(sql)
    }
}

/// `@Test(.freshSchema())` or on a suite: each test (each case of a parameterized one)
/// runs with a schema of its own as `TestSchema.current`.
public struct FreshSchemaTrait: TestTrait, SuiteTrait, TestScoping {
    let migrated: Bool

    public var isRecursive: Bool { true }

    /// Test cases only: a suite itself needs no schema.
    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self
    }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await TestSchema.with(migrated: migrated) { schema in
            try await TestSchema.$current.withValue(schema) { try await function() }
        }
    }
}

extension Trait where Self == FreshSchemaTrait {
    /// A fresh schema for the test (`migrated: false` leaves it empty).
    public static func freshSchema(migrated: Bool = true) -> Self { FreshSchemaTrait(migrated: migrated) }
}

extension LedgerAudit {
    /// The reconcile audit of the schema `config` names, on a connection of its own (the
    /// servers under test may be gone).
    public static func report(of config: PostgresConfig) async throws -> Report {
        let pool = PostgresPool(config: config, settings: .init(size: 1)).started()
        do {
            let report = try await LedgerAudit(pool: pool).run()
            await pool.shutdown()
            return report
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}

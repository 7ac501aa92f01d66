import BillingPostgres
import Foundation
import Testing
import TestSupport

@Suite("libpq through CLibPQ, against the real PostgreSQL", .timeLimit(.minutes(1)))
struct LibPQTests {
    @Test("a host that is a directory is where the server's Unix socket is")
    func unixSocket() throws {
        var config = TestEnvironment.postgres
        config.host = try #require(ProcessInfo.processInfo.environment["PG_SOCKET_DIR"], "scripts/services.sh env sets it")
        let connection = try PostgresConnection.connect(config)
        defer { connection.close() }
        // No client address: the session came over the socket, not TCP.
        #expect(try connection.query("SELECT inet_client_addr() IS NULL")[0].bool(0))
    }

    @Test("a parameterized query in a transaction round-trips values, quotes included, and commits")
    func parameterizedTransaction() throws {
        let connection = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { connection.close() }
        let table = "libpq_probe_\(UInt32.random(in: 0...UInt32.max))"
        try connection.query("CREATE TABLE \(table) (id BIGINT PRIMARY KEY, note TEXT)")
        defer { _ = try? connection.query("DROP TABLE \(table)") }

        let tricky = "O'Brien; DROP TABLE \(table); --"
        try connection.transaction { tx in
            try tx.query("INSERT INTO \(table) (id, note) VALUES ($1, $2), ($3, $4)", ["1", tricky, "2", nil])
        }
        let rows = try connection.query("SELECT id, note FROM \(table) WHERE id >= $1 ORDER BY id", ["1"])
        #expect(rows.rows.count == 2)
        #expect(try rows[0].int64(0) == 1)
        #expect(try rows[0].string(1) == tricky)
        #expect(rows[1].optionalString(1) == nil)
    }

    @Test("a transaction that throws is rolled back")
    func rollback() throws {
        let connection = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { connection.close() }
        let table = "libpq_rollback_\(UInt32.random(in: 0...UInt32.max))"
        try connection.query("CREATE TABLE \(table) (id BIGINT PRIMARY KEY)")
        defer { _ = try? connection.query("DROP TABLE \(table)") }

        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try connection.transaction { tx in
                try tx.query("INSERT INTO \(table) VALUES ($1)", ["7"])
                throw Abort()
            }
        }
        #expect(try connection.query("SELECT count(*) FROM \(table)")[0].int64(0) == 0)
    }

    @Test("server errors carry their SQLSTATE")
    func sqlState() throws {
        let connection = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { connection.close() }
        try connection.query("CREATE TEMP TABLE probe (id BIGINT PRIMARY KEY)")
        try connection.query("INSERT INTO probe VALUES (1)")
        do {
            try connection.query("INSERT INTO probe VALUES ($1)", ["1"])
            Issue.record("expected a unique violation")
        } catch {
            #expect(error.isUniqueViolation)
            #expect(!error.isConnectionFailure)
            #expect(!error.description.contains("probe"), "no SQL detail in the public description")
        }
        // The connection is still usable after an error outside a transaction.
        #expect(try connection.query("SELECT 1")[0].int64(0) == 1)
    }

    @Test("prepared statements execute with new parameters each time")
    func prepared() throws {
        let connection = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { connection.close() }
        try connection.prepare(name: "add", sql: "SELECT $1::bigint + $2::bigint")
        #expect(try connection.execute(prepared: "add", ["2", "3"])[0].int64(0) == 5)
        #expect(try connection.execute(prepared: "add", ["-2", "3"])[0].int64(0) == 1)
    }

    @Test("a pipeline returns each statement's rows in order in one round trip")
    func pipeline() throws {
        let connection = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { connection.close() }
        try connection.prepare(name: "double", sql: "SELECT $1::bigint * 2")
        let results = try connection.pipeline([
            .sql("SELECT $1::text", ["a'b"]), .prepared("double", ["21"]), .sql("SELECT generate_series(1, 3)"),
        ])
        #expect(try results[0][0].string(0) == "a'b")
        #expect(try results[1][0].int64(0) == 42)
        #expect(results[2].rows.count == 3)
    }

    @Test("a failing statement in a pipeline throws its error, skips the rest, and leaves the connection usable")
    func pipelineError() throws {
        let connection = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { connection.close() }
        try connection.query("CREATE TEMP TABLE seen (x INT)")
        do {
            try connection.pipeline([
                .sql("BEGIN"), .sql("INSERT INTO seen VALUES (1)"), .sql("SELECT 1 / 0"), .sql("INSERT INTO seen VALUES (2)"),
                .sql("COMMIT"),
            ])
            Issue.record("expected division by zero")
        } catch {
            #expect(error.sqlState == "22012")
        }
        try connection.query("ROLLBACK")
        #expect(try connection.query("SELECT count(*) FROM seen")[0].int64(0) == 0)
    }

    @Test("a connection to a port with no server fails with a connection error")
    func connectionRefused() {
        var config = TestEnvironment.postgres
        config.port = 1
        do {
            _ = try PostgresConnection.connect(config)
            Issue.record("expected a connection failure")
        } catch {
            #expect(error.kind == .connectionFailed && error.isConnectionFailure)
        }
    }

    @Test("a terminated backend is reported as a lost connection")
    func terminated() throws {
        let victim = try PostgresConnection.connect(TestEnvironment.postgres)
        let admin = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { admin.close() }
        try admin.query("SELECT pg_terminate_backend($1::int)", [String(victim.backendPID)])
        do {
            try victim.query("SELECT 1")
            Issue.record("expected the connection to be gone")
        } catch {
            #expect(error.isConnectionFailure)
        }
    }
}

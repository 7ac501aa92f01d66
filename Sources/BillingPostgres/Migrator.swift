import Foundation

/// Applies the numbered SQL files of `sql/` in order, each in its own transaction,
/// recording each file's checksum. Two servers starting at once take turns on an
/// advisory lock; an applied file that has since changed stops the start with a clear error.
public struct Migrator: Sendable {
    public struct Migration: Sendable, Hashable {
        public let version: String
        public let sql: String

        public init(version: String, sql: String) {
            self.version = version
            self.sql = sql
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case unreadableDirectory(String)
        case changedAfterApplied(version: String)
        case failed(version: String, PostgresError)
        case lockNotTaken(waited: Duration)
        /// No schema of the session's `search_path` exists (`billing.database.schema` names
        /// one that was never created): nothing to migrate into.
        case schemaMissing(searchPath: String)

        public var description: String {
            switch self {
            case .lockNotTaken(let waited):
                "another instance held the migration lock for over \(waited.components.seconds) s; is its migration stuck?"
            case .unreadableDirectory(let path): "cannot read migrations from \(path)"
            case .schemaMissing(let searchPath):
                "no schema of search_path \(searchPath) exists: create it (CREATE SCHEMA …) or fix billing.database.schema"
            case .changedAfterApplied(let version):
                "migration \(version) was changed after it was applied; add a new migration instead"
            case .failed(let version, let error): "migration \(version) failed: \(error.debugDescription)"
            }
        }
    }

    public let migrations: [Migration]
    /// How long to wait for another instance's migration to finish.
    public let lockWait: Duration

    public init(migrations: [Migration], lockWait: Duration = .seconds(600)) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.lockWait = lockWait
    }

    /// Reads `NNNN_name.sql` files from a directory.
    public init(directory: URL) throws(Failure) {
        let files: [URL]
        do {
            files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        } catch {
            throw .unreadableDirectory(directory.path)
        }
        var migrations: [Migration] = []
        for file in files where file.pathExtension == "sql" {
            guard let sql = try? String(contentsOf: file, encoding: .utf8) else {
                throw .unreadableDirectory(file.path)
            }
            migrations.append(Migration(version: file.deletingPathExtension().lastPathComponent, sql: sql))
        }
        self.init(migrations: migrations)
    }

    /// Applies what is missing; returns the versions applied now.
    @discardableResult
    public func migrate(_ connection: PostgresConnection) throws -> [String] {
        // The lock comes first: two concurrent CREATE TABLE IF NOT EXISTS can still collide.
        // Asked for, not waited on: a wait counts against the session's lock_timeout (2 s), and
        // another instance starting at the same time may migrate for longer than that — the
        // second server then failed to start (55P03). Its migration ends or its session does.
        let schema = try connection.query("SELECT current_schema() IS NOT NULL, current_setting('search_path')")[0]
        guard try schema.bool(0) else { throw Failure.schemaMissing(searchPath: try schema.string(1)) }
        let deadline = ContinuousClock.now + lockWait
        while try !connection.query("SELECT pg_try_advisory_lock(hashtext('billing-migrations:' || current_schema()))")[0]
            .bool(0)
        {
            guard ContinuousClock.now < deadline else { throw Failure.lockNotTaken(waited: lockWait) }
            Thread.sleep(forTimeInterval: 0.1)
        }
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(hashtext('billing-migrations:' || current_schema()))") }
        try connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
            """)

        let applied = try connection.query("SELECT version, checksum FROM schema_migrations").all
        var checksums: [String: String] = [:]
        for row in applied { checksums[try row.string(0)] = try row.string(1) }

        var appliedNow: [String] = []
        for migration in migrations {
            let checksum = try connection.query("SELECT md5($1)", [migration.sql])[0].string(0)
            if let known = checksums[migration.version] {
                guard known == checksum else { throw Failure.changedAfterApplied(version: migration.version) }
                continue
            }
            do {
                try connection.transaction { tx in
                    try tx.run(script: migration.sql)
                    try tx.query(
                        "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)", [migration.version, checksum])
                }
            } catch let error as PostgresError {
                throw Failure.failed(version: migration.version, error)
            }
            appliedNow.append(migration.version)
        }
        return appliedNow
    }
}

import BillingCore
import BillingPostgres

/// One instance at a time per job, across processes and machines: a PostgreSQL advisory
/// lock held (on a connection of its own) while the job runs. A second instance skips.
/// The key includes the schema, so deployments sharing a database do not block each other.
public struct JobLock: Sendable {
    private let pool: PostgresPool

    /// `pool` should be a dedicated pool of one connection: the lock belongs to a session.
    public init(pool: PostgresPool) { self.pool = pool }

    public func run(_ job: String, _ body: () async throws -> JobReport) async throws -> JobReport {
        let key = "billing-cron:\(job)"
        let acquired = try await pool.withConnection { connection in
            try connection.query("SELECT pg_try_advisory_lock(hashtext($1 || ':' || current_schema()))", [key])[0].bool(0)
        }
        guard acquired else { return JobReport(.skipped, "another instance is running \(job)") }
        do {
            let report = try await body()
            try await unlock(key)
            return report
        } catch {
            try? await unlock(key)
            throw error
        }
    }

    private func unlock(_ key: String) async throws(BillingError) {
        _ = try await pool.withConnection { connection in
            try connection.query("SELECT pg_advisory_unlock(hashtext($1 || ':' || current_schema()))", [key])
        }
    }
}

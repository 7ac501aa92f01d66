import BillingCore
import Foundation

/// `audit_log` (append-only: a trigger refuses updates, deletes and truncation).
public struct PostgresAuditLog: AuditLog {
    /// Parameters are kept up to this many bytes (the rest is cut, marked "…").
    public static let maxParameterBytes = 8_192

    private let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func append(_ entry: AuditEntry) async throws(BillingError) {
        var parameters = entry.parameters
        if parameters.utf8.count > Self.maxParameterBytes {
            parameters = String(decoding: Array(parameters.utf8.prefix(Self.maxParameterBytes)), as: UTF8.self) + "…"
        }
        let values: [String?] = [
            entry.operatorName, entry.action, entry.target, parameters, String(entry.status), entry.code,
        ]
        _ = try await pool.withConnection { connection in
            try connection.query(
                "INSERT INTO audit_log (operator, action, target, parameters, status, code) VALUES ($1, $2, $3, $4, $5, $6)",
                values)
        }
    }

    public func entries(before: Int64?, limit: Int) async throws(BillingError) -> [AuditEntry] {
        try await pool.withConnection { connection in
            try connection.query(
                """
                SELECT id, \(microsecondsColumn("at")), operator, action, target, parameters, status, code FROM audit_log
                WHERE $1::bigint IS NULL OR id < $1 ORDER BY id DESC LIMIT $2
                """, [before.map(String.init), String(limit)]
            ).all.map { row in
                AuditEntry(
                    id: try row.int64(0), at: PostgresText.date(microseconds: try row.int64(1)),
                    operatorName: row.optionalString(2), action: try row.string(3), target: row.optionalString(4),
                    parameters: try row.string(5), status: Int(try row.int64(6)), code: row.optionalString(7))
            }
        }
    }
}

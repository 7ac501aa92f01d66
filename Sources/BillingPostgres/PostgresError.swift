/// A failure reported by libpq or the server. `description` is deliberately generic so no
/// query text or value reaches a log line or a response; `debugDescription` has the detail.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Kind: Sendable, Hashable {
        case connectionFailed
        case connectionLost
        case serverError
        case protocolViolation
    }

    public let kind: Kind
    /// The five-character SQLSTATE, when the server sent one.
    public let sqlState: String?
    /// The constraint an integrity error is about, when the server named one.
    public let constraint: String?
    let detail: String

    init(_ kind: Kind, sqlState: String? = nil, constraint: String? = nil, detail: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.constraint = constraint
        self.detail = detail
    }

    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isCheckViolation: Bool { sqlState == "23514" }
    /// Serialization failure, deadlock, a lock wait past `lock_timeout` (55P03) or a
    /// statement past `statement_timeout` (57014): the transaction may be retried as a whole.
    public var isRetryable: Bool {
        sqlState == "40001" || sqlState == "40P01" || sqlState == "55P03" || sqlState == "57014"
    }
    /// The connection is unusable and must be replaced (or could not be made: 53300 is
    /// "too many connections").
    public var isConnectionFailure: Bool {
        kind == .connectionFailed || kind == .connectionLost || sqlState?.hasPrefix("08") == true
            || sqlState == "57P01" || sqlState == "57P02" || sqlState == "57P03" || sqlState == "53300"
    }

    public var description: String {
        switch kind {
        case .connectionFailed: "PostgreSQL connection failed"
        case .connectionLost: "PostgreSQL connection lost"
        case .serverError: "PostgreSQL error \(sqlState ?? "?????")"
        case .protocolViolation: "unexpected PostgreSQL result"
        }
    }

    public var debugDescription: String { "\(description): \(detail)" }
}

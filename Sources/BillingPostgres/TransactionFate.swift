import Foundation

/// Whether a transaction whose COMMIT answer was lost did commit, decided by the
/// transaction's own fate (`txid_status`) rather than by looking for its rows: a fresh
/// connection that asks too early would not see rows of a commit still in progress, and
/// the batch would be applied twice.
public enum TransactionFate: Sendable, Equatable {
    case committed
    case aborted
    /// Cannot be told (the question failed, or the transaction is too old to look up).
    case unknown

    /// How long an in-progress transaction is given to finish on its own before its
    /// backend is terminated (which rolls it back unless its commit record is written).
    public static let defaultPatience: Duration = .seconds(2)
    /// After termination, how long to wait for the backend to be gone.
    static let terminationWait: Duration = .seconds(10)
    static let pollInterval = 0.02

    /// Asks `connection` (not the one that lost the answer) until the transaction
    /// `transactionId` (from `txid_current()`) has ended. While it is in progress past
    /// `patience`, its backend `backendPID` is terminated, and only if it still holds
    /// that transaction, so an unrelated session that reused the process id is safe.
    /// Blocks the calling thread (a lane's own).
    public static func resolve(
        transactionId: Int64, backendPID: Int32, on connection: PostgresConnection,
        patience: Duration = Self.defaultPatience
    ) -> TransactionFate {
        let clock = ContinuousClock()
        let terminateAt = clock.now.advanced(by: patience)
        let giveUpAt = terminateAt.advanced(by: terminationWait)
        var terminated = false
        while true {
            let status: String?
            do {
                status = try connection.query("SELECT txid_status($1::bigint)", [String(transactionId)])[0]
                    .optionalString(0)
            } catch {
                return .unknown
            }
            switch status {
            case "committed": return .committed
            case "aborted": return .aborted
            case "in progress":
                let now = clock.now
                if now >= giveUpAt { return .unknown }
                if now >= terminateAt, !terminated {
                    terminated = true
                    _ = try? connection.query(
                        """
                        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                        WHERE pid = $1 AND backend_xid::text = ($2::bigint % 4294967296)::text
                        """, [String(backendPID), String(transactionId)])
                }
                Thread.sleep(forTimeInterval: pollInterval)
            default:
                return .unknown
            }
        }
    }
}

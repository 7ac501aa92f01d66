import BillingCore
import Synchronization

/// The rows of a lane's users as the lane's own last commit left them, so a batch of users
/// it knows can be applied without first reading them (`BatchApplier.applyKnown`).
///
/// Only ever a guess: the transaction that uses it locks the same rows and compares them
/// (balance row version, balance and held fen; every quota row of the period) before it
/// writes, and rolls back when anything differs — a recharge, a settings change, the price
/// administration, another server's lane. Every writer of a balance row moves its version
/// on, and settings and price overrides move the user's version too, so the comparison
/// covers what a deduction depends on. Users with price overrides are not kept (an
/// override's window would make the batch's instant matter to the price).
/// Bounded: past `limit` users the memory starts again empty.
final class LaneRowCache: Sendable {
    /// One user's rows: everything `DeductionBatch` reads of a user for a plain deduction.
    struct Rows: Sendable, Equatable {
        var balance: Fen
        var version: Int64
        var heldFen: Fen
        var carries: [String: Int64]
        var spend: SpendState?
        var alerts: AlertState?
        var settings: UserSettings?
        /// Every quota row of the period, by service.
        var quotas: [String: QuotaUsage]
    }

    private let state = Mutex<(period: QuotaPeriod?, users: [String: Rows])>((nil, [:]))
    /// Batches left that read first whatever is known (after the clocks disagreed).
    private let pausedFor = Mutex(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// The rows of every one of `users` in `period`, in their order; nil when any is unknown.
    func rows(of users: [String], in period: QuotaPeriod) -> [Rows]? {
        state.withLock { state in
            guard state.period == period else { return nil }
            var found: [Rows] = []
            found.reserveCapacity(users.count)
            for user in users {
                guard let rows = state.users[user] else { return nil }
                found.append(rows)
            }
            return found
        }
    }

    /// Keeps each user's rows as committed in `period` (a new period forgets the last one's).
    func remember(_ committed: [(user: String, rows: Rows)], in period: QuotaPeriod) {
        state.withLock { state in
            if state.period != period { state = (period, [:]) }
            for (user, rows) in committed {
                if state.users.count >= limit, state.users[user] == nil { state.users.removeAll(keepingCapacity: true) }
                state.users[user] = rows
            }
        }
    }

    func forget<S: Sequence<String>>(_ users: S) {
        state.withLock { state in
            for user in users { state.users[user] = nil }
        }
    }

    var count: Int { state.withLock { $0.users.count } }

    /// Whether this batch must read first (counts it).
    func isPaused() -> Bool {
        pausedFor.withLock { left in
            guard left > 0 else { return false }
            left -= 1
            return true
        }
    }

    func pause(batches: Int) { pausedFor.withLock { $0 = batches } }
}

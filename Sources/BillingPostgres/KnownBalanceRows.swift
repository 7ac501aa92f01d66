import Synchronization

/// Users a lane has seen a committed balance row of, so its batches need not ask PostgreSQL
/// to create one for them first.
///
/// Ensuring the row (`INSERT … ON CONFLICT DO NOTHING`) costs an index probe and an insert
/// attempt per user per batch, about a tenth of a batch's database time, and almost always
/// finds the row there. A committed balance row is never deleted (the lanes only drop rows
/// their own transaction created), so a remembered user can skip it; should the row be gone
/// anyway, `BatchApplier` finds it missing under the lock, forgets everything and retries
/// with every user ensured. Bounded: past `limit` users the memory starts again empty.
final class KnownBalanceRows: Sendable {
    private let users = Mutex<Set<String>>([])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Those of `candidates` not known to have a row, in their order.
    func unknown(among candidates: [String]) -> [String] {
        users.withLock { users in candidates.filter { !users.contains($0) } }
    }

    func remember<S: Sequence<String>>(_ committed: S) {
        users.withLock { users in
            for user in committed {
                if users.count >= limit { users.removeAll(keepingCapacity: true) }
                users.insert(user)
            }
        }
    }

    func forgetAll() { users.withLock { $0.removeAll() } }

    var count: Int { users.withLock { $0.count } }
}

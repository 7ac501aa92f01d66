import BillingCore
import Foundation

/// One sweep of due holds: lists pending holds whose `expiresAt` has passed and sends each
/// an `expire` through the lanes, all at once (the lanes batch them), which lock the hold
/// and change it only if it is still pending and due. Several servers may sweep at once:
/// the second to reach a hold finds it expired and leaves it alone.
public struct HoldExpiry: Sendable {
    public static let batchLimit = 1_000

    let holds: PostgresHolds
    let ledger: any OperationLedger
    let clock: any BillingClock

    public init(holds: PostgresHolds, ledger: any OperationLedger, clock: any BillingClock) {
        self.holds = holds
        self.ledger = ledger
        self.clock = clock
    }

    /// The holds this pass expired.
    public func sweepOnce() async throws(BillingError) -> [Hold] {
        // Real time is the database's; a test clock is passed on.
        let now: Date? = clock is SystemClock ? nil : clock.now()
        let due = try await holds.due(limit: Self.batchLimit, now: now)
        let ledger = ledger
        return await withTaskGroup(of: Hold?.self) { group in
            for key in due {
                group.addTask {
                    guard case .released(let hold)? = try? await ledger.perform(.expire(key)) else { return nil }
                    return hold
                }
            }
            var expired: [Hold] = []
            for await hold in group { if let hold, hold.status == .expired { expired.append(hold) } }
            return expired
        }
    }
}

/// Applies ledger operations beyond a plain deduction (holds, refunds, adjustments) with the
/// same guarantees: per-item isolation, an answer only after commit.
public protocol OperationLedger: Sendable {
    func perform(_ operation: LedgerOperation) async throws(BillingError) -> LedgerOutcome
}

/// Reads of holds for the console.
public protocol HoldQueries: Sendable {
    /// The user's pending holds, oldest first.
    func pendingHolds(of userId: String) async throws(BillingError) -> [Hold]
}

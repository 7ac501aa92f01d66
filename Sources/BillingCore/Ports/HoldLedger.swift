/// Applies ledger operations beyond a plain deduction (holds: authorize, settle, void,
/// expire) with the same guarantees: per-item isolation, an answer only after commit.
public protocol HoldLedger: Sendable {
    func perform(_ operation: LedgerOperation) async throws(BillingError) -> LedgerOutcome
}

/// Reads balances and quotas from the source of truth. Never creates rows.
public protocol AccountReader: Sendable {
    func account(of userId: String, period: QuotaPeriod) async throws(BillingError) -> AccountState
}

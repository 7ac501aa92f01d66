/// Told how each money-moving use case ended, by `BillingService` itself: below the
/// transports, so HTTP and gRPC are counted alike and no handler counts anything.
/// Called on the caller's task; it must not block.
public protocol UseCaseObserver: Sendable {
    /// A deduction answered (a new charge or a replay) or refused.
    func deducted(_ outcome: Result<DeductionReceipt, BillingError>)
    /// A recharge order started (its pay URL handed out) or refused.
    func rechargeStarted(_ outcome: Result<RechargeOrder, BillingError>)
    /// A payment callback settled (crediting or not) or refused.
    func settled(_ outcome: Result<Settlement, BillingError>)
    /// A hold operation ("authorize", "settle", "void") answered or refused.
    func holdOperation(_ name: String, _ outcome: Result<LedgerOutcome, BillingError>)
}

extension UseCaseObserver {
    public func holdOperation(_ name: String, _ outcome: Result<LedgerOutcome, BillingError>) {}
}

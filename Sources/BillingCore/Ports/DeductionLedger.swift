/// Applies deductions durably: a receipt is returned only once the deduction is committed.
public protocol DeductionLedger: Sendable {
    func deduct(_ request: DeductionRequest) async throws(BillingError) -> DeductionReceipt
}

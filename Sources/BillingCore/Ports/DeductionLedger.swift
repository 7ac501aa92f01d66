/// Applies deductions atomically and idempotently; a receipt only after commit.
public protocol DeductionLedger: Sendable {
    func deduct(_ request: DeductionRequest) async throws(BillingError) -> DeductionReceipt
    /// Many deductions, each on its own (one's failure never affects another), answered in
    /// the order given; a request id repeated among them replays the earlier one.
    func deductAll(_ requests: [DeductionRequest]) async -> [Result<DeductionReceipt, BillingError>]
}

extension DeductionLedger {
    /// One after the other: correct for any ledger, fast for none.
    public func deductAll(_ requests: [DeductionRequest]) async -> [Result<DeductionReceipt, BillingError>] {
        var results: [Result<DeductionReceipt, BillingError>] = []
        for request in requests {
            do {
                results.append(.success(try await deduct(request)))
            } catch {
                results.append(.failure(error))
            }
        }
        return results
    }
}

/// A ledger that can answer a deduction through a callback, called once on a thread of its
/// own after COMMIT: a caller on an event loop then needs no task to wait in.
public protocol CallbackDeductionLedger: DeductionLedger {
    func deduct(
        _ request: DeductionRequest, completion: @escaping @Sendable (Result<DeductionReceipt, BillingError>) -> Void)
}

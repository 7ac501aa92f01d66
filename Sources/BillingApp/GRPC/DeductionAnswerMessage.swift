import BillingCore
import BillingProto

/// The answer fields a batch item's result and a stream's result share.
protocol DeductionAnswerMessage {
    var success: Bool { get set }
    var result: Billing_V1_DeductQuotaResponse { get set }
    var errorCode: String { get set }
    var errorMessage: String { get set }
}

extension Billing_V1_DeductQuotaBatchItem: DeductionAnswerMessage {}
extension Billing_V1_DeductQuotaStreamResult: DeductionAnswerMessage {}

extension DeductionAnswerMessage {
    /// The charge, or the item's own error.
    mutating func answer(_ outcome: Result<DeductionReceipt, BillingError>) {
        switch outcome {
        case .success(let receipt):
            success = true
            result = HoldMessages.charge(receipt)
        case .failure(let error):
            errorCode = error.code
            errorMessage = error.message
        }
    }
}

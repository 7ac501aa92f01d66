import HTTPTypes
import Hummingbird

extension HTTPField.Name {
    // Valid header names written as literals: the initializer only fails on invalid tokens.
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let billingSignature = HTTPField.Name("X-Billing-Signature")!
    static let requestId = HTTPField.Name("X-Request-Id")!
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let operatorName = HTTPField.Name("X-Operator")!
}

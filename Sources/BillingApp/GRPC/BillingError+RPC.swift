import BillingCore
import GRPCCore

/// The one mapping from the domain's errors to gRPC statuses; the UPPER_SNAKE code leads
/// the message and is also sent as `billing-error-code` metadata.
extension BillingError: RPCErrorConvertible {
    public var rpcErrorCode: RPCError.Code {
        switch kind {
        case .invalidInput: .invalidArgument
        case .unauthenticated: .unauthenticated
        case .forbidden: .permissionDenied
        case .notFound: .notFound
        // A reused request id keeps api.md's ALREADY_EXISTS; the ledger features' 409s
        // (a hold's state, overlapping prices) are FAILED_PRECONDITION.
        case .conflict: code == "IDEMPOTENCY_CONFLICT" ? .alreadyExists : .failedPrecondition
        case .insufficientFunds: .failedPrecondition
        case .unavailable, .upstreamUnavailable: .unavailable
        case .internalFailure: .internalError
        case .tooLarge: .resourceExhausted
        }
    }

    public var rpcErrorMessage: String { "\(code): \(message)" }

    public var rpcErrorMetadata: Metadata { ["billing-error-code": "\(code)"] }
}

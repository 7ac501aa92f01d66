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
        case .conflict: .alreadyExists
        case .insufficientFunds: .failedPrecondition
        case .unavailable, .upstreamUnavailable: .unavailable
        case .internalFailure: .internalError
        }
    }

    public var rpcErrorMessage: String { "\(code): \(message)" }

    public var rpcErrorMetadata: Metadata { ["billing-error-code": "\(code)"] }
}

import BillingCore
import GRPCCore

/// The bearer tokens of the internal service, checked once for every RPC of it: the
/// gateway's tokens for checks and deductions, the Payment Service's for RechargeCallback
/// (a gateway token never settles a payment). The console service passes through (its
/// user comes from the gateway's metadata).
struct InternalAuthInterceptor: ServerInterceptor {
    static let internalService = "billing.v1.BillingInternalService"
    static let paymentMethods: Set<String> = ["RechargeCallback"]

    let internalTokens: [String]
    let paymentTokens: [String]

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if context.descriptor.service.fullyQualifiedService == Self.internalService {
            let header = request.metadata[stringValues: "authorization"].first(where: { _ in true })
            let tokens = Self.paymentMethods.contains(context.descriptor.method) ? paymentTokens : internalTokens
            guard BearerToken.authorizes(header, tokens: tokens) else {
                throw BillingError.unauthenticated("missing or invalid bearer token for this call")
            }
        }
        return try await next(request, context)
    }
}

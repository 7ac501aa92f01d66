import BillingCore
import GRPCCore

/// The bearer tokens of the internal and admin services, checked once for every RPC of
/// them: the gateway's tokens for checks and deductions, the Payment Service's for
/// RechargeCallback (a gateway token never settles a payment), the operators' for the admin
/// service (whose `x-operator` it hands to the handler). The console service passes through
/// (its user comes from the gateway's metadata).
struct InternalAuthInterceptor: ServerInterceptor {
    static let internalService = "billing.v1.BillingInternalService"
    static let adminService = "billing.v1.BillingAdminService"
    static let paymentMethods: Set<String> = ["RechargeCallback"]

    let internalTokens: [String]
    let paymentTokens: [String]
    var adminTokens: [String] = []

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if context.descriptor.service.fullyQualifiedService == Self.adminService {
            let header = request.metadata[stringValues: "authorization"].first(where: { _ in true })
            guard BearerToken.authorizes(header, tokens: adminTokens) else {
                throw BillingError.unauthenticated("missing or invalid admin bearer token")
            }
            let operatorName = request.metadata[stringValues: "x-operator"].first(where: { _ in true })
            return try await AdminOperatorMetadata.$current.withValue(operatorName) {
                try await next(request, context)
            }
        }
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

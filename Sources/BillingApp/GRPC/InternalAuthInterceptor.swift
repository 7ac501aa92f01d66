import BillingCore
import CallbackSigning
import GRPCCore

/// The bearer token of the internal service, checked once for every RPC of it; the
/// console service passes through (its user comes from the gateway's metadata).
struct InternalAuthInterceptor: ServerInterceptor {
    static let internalService = "billing.v1.BillingInternalService"

    let tokens: [String]

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if context.descriptor.service.fullyQualifiedService == Self.internalService {
            let header = request.metadata[stringValues: "authorization"].first(where: { _ in true }) ?? ""
            let token = header.lowercased().hasPrefix("bearer ") ? String(header.dropFirst(7)) : ""
            guard !token.isEmpty, ConstantTime.matchesAny(token, tokens) else {
                throw BillingError.unauthenticated("missing or invalid internal bearer token")
            }
        }
        return try await next(request, context)
    }
}

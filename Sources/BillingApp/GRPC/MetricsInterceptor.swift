import GRPCCore

/// Counts and times every RPC by method and final status code, as the HTTP middleware
/// does per route. Listed first, so refusals by the auth interceptor are counted too.
struct MetricsInterceptor: ServerInterceptor {
    let metrics: BillingMetrics

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let method = "\(context.descriptor.service.fullyQualifiedService)/\(context.descriptor.method)"
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            let code: String =
                switch response.accepted {
                case .success: "ok"
                case .failure(let error): Self.name(of: error.code)
                }
            metrics.rpc(method: method, code: code, duration: ContinuousClock.now - started)
            return response
        } catch {
            let code = (error as? any RPCErrorConvertible)?.rpcErrorCode ?? (error as? RPCError)?.code ?? .unknown
            metrics.rpc(method: method, code: Self.name(of: code), duration: ContinuousClock.now - started)
            throw error
        }
    }

    static func name(of code: RPCError.Code) -> String { "\(code)" }
}

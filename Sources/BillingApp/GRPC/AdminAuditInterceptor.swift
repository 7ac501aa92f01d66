import BillingCore
import GRPCCore

/// Records every call of billing.v1.BillingAdminService in the audit log, as the HTTP
/// admin routes do: refused ones too (it runs before the token check), with the request
/// message as the parameters. Admin RPCs are unary: the one message is read here and
/// handed on. An entry that cannot be written fails the call with UNAVAILABLE.
struct AdminAuditInterceptor: ServerInterceptor {
    let log: any AuditLog

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard context.descriptor.service.fullyQualifiedService == InternalAuthInterceptor.adminService else {
            return try await next(request, context)
        }
        var messages: [Input] = []
        for try await message in request.messages { messages.append(message) }
        guard messages.count == 1, let message = messages.first else {
            throw RPCError(code: .invalidArgument, message: "admin calls carry exactly one message")
        }
        let metadata = request.metadata
        let entry = { (status: Int, code: String?) in
            AuditEntry(
                operatorName: metadata[stringValues: "x-operator"].first(where: { _ in true }),
                action: "RPC \(context.descriptor.service.fullyQualifiedService)/\(context.descriptor.method)",
                target: nil, parameters: "\(message)", status: status, code: code)
        }
        do {
            let response = try await next(StreamingServerRequest(single: ServerRequest(metadata: metadata, message: message)), context)
            switch response.accepted {
            case .success: try await log.append(entry(0, nil))
            case .failure(let error): try await log.append(entry(error.code.rawValue, Self.code(of: error)))
            }
            return response
        } catch let error as BillingError {
            try await log.append(entry(error.rpcErrorCode.rawValue, error.code))
            throw error
        } catch let error as RPCError {
            try await log.append(entry(error.code.rawValue, Self.code(of: error)))
            throw error
        }
    }

    /// The billing code an RPCError carries in its metadata, if any.
    static func code(of error: RPCError) -> String? {
        error.metadata[stringValues: "billing-error-code"].first(where: { _ in true })
    }
}

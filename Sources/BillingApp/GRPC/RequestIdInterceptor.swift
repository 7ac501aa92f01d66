import BillingLogging
import Foundation
import GRPCCore

/// The gRPC side of `RequestIdMiddleware`: the caller's `x-request-id` metadata when it is a
/// sane token, else a new id; on every log line of the call (the handler and, for streams,
/// the response producer that gRPC runs after the handler returned) and echoed in the
/// initial metadata.
struct RequestIdInterceptor: ServerInterceptor {
    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let sent = request.metadata[stringValues: "x-request-id"].first { _ in true }
        let id = RequestIds.acceptable(sent) ?? UUID().uuidString.lowercased()
        var response = try await RequestLogContext.$requestId.withValue(id) { try await next(request, context) }
        if case .success(var contents) = response.accepted {
            let producer = contents.producer
            contents.producer = { writer in try await RequestLogContext.$requestId.withValue(id) { try await producer(writer) } }
            contents.metadata.addString(id, forKey: "x-request-id")
            response.accepted = .success(contents)
        }
        return response
    }
}

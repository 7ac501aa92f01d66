import BillingCore
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// Turns every error, from a handler, the router (unknown route, wrong method) or the
/// body reader (too large), into the JSON envelope. Anything unexpected is logged with
/// its detail and answered with a generic 500: no stack trace or SQL reaches a client.
struct ErrorEnvelopeMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Tells "no such route" (404) from "no such method on this route" (405).
    let knownPaths: KnownPaths

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as BillingError {
            if error.kind == .internalFailure {
                context.logger.error("internal failure", metadata: ["detail": "\(String(reflecting: error))"])
            }
            return APIResponse.failure(error)
        } catch let error as HTTPError {
            if error.status == .notFound, knownPaths.contains(request.uri.path) {
                return Self.envelope(for: HTTPError(.methodNotAllowed))
            }
            return Self.envelope(for: error)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return APIResponse.failure(code: "INTERNAL", message: "internal error", status: .internalServerError)
        }
    }

    static func envelope(for error: HTTPError) -> Response {
        switch error.status {
        case .notFound:
            APIResponse.failure(code: "NOT_FOUND", message: "no such route", status: .notFound)
        case .methodNotAllowed:
            APIResponse.failure(code: "METHOD_NOT_ALLOWED", message: "method not allowed", status: .methodNotAllowed)
        case .contentTooLarge:
            APIResponse.failure(code: "PAYLOAD_TOO_LARGE", message: "the body is too large", status: .contentTooLarge)
        case .unsupportedMediaType:
            APIResponse.failure(
                code: "UNSUPPORTED_MEDIA_TYPE", message: error.body ?? "the body must be JSON",
                status: .unsupportedMediaType)
        case .badRequest:
            APIResponse.failure(code: "INVALID_ARGUMENT", message: error.body ?? "bad request", status: .badRequest)
        default:
            APIResponse.failure(
                code: error.status.code >= 500 ? "INTERNAL" : "INVALID_ARGUMENT",
                message: error.body ?? error.status.reasonPhrase, status: error.status)
        }
    }
}

import BillingCore
import HTTPTypes
import Hummingbird

/// Guards the internal API (`Authorization: Bearer <token>` with one of the configured
/// internal tokens), or any other group with its own tokens (`realm` names them in the error).
struct InternalAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: [String]
    var realm = "internal"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard Self.isAuthorized(request, tokens: tokens) else {
            throw BillingError.unauthenticated("missing or invalid \(realm) bearer token")
        }
        return try await next(request, context)
    }

    static func isAuthorized(_ request: Request, tokens: [String]) -> Bool {
        BearerToken.authorizes(request.headers[.authorization], tokens: tokens)
    }
}

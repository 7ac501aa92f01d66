import BillingLogging
import HTTPTypes
import Hummingbird

/// Names every request: the caller's `X-Request-Id` when it is a sane token (the gateway's,
/// so its logs and ours join), else the id Hummingbird gave it. The id is on every log line
/// written while the request is served (`RequestLogContext`), echoed in the response, and
/// at debug level one line per request says what was answered.
struct RequestIdMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let id = RequestIds.acceptable(request.headers[.requestId]) ?? context.logger[metadataKey: "hb.request.id"].map { "\($0)" }
        let started = ContinuousClock.now
        return try await RequestLogContext.$requestId.withValue(id) {
            var response = try await next(request, context)
            if let id { response.headers[.requestId] = id }
            let elapsed = (ContinuousClock.now - started).components
            context.logger.debug(
                "request",
                metadata: [
                    "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
                    "status": "\(response.status.code)",
                    "ms": "\(elapsed.seconds * 1_000 + elapsed.attoseconds / 1_000_000_000_000_000)",
                ])
            return response
        }
    }
}

/// What a caller may name its request with.
enum RequestIds {
    /// 1…128 characters of letters, digits and `-_.:`; anything else is not echoed or logged.
    static func acceptable(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count),
            value.utf8.allSatisfy({ byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "-_.:".utf8.contains(byte)
            })
        else { return nil }
        return value
    }
}

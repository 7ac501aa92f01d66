import HTTPTypes
import Hummingbird

/// Counts and times every request by its route pattern (not the raw path, so ids do not
/// explode the label set), and echoes a request id for log correlation.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: BillingMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        var response = try await next(request, context)
        let route = context.endpointPath ?? "unmatched"
        metrics.request(
            route: route, method: request.method.rawValue, status: response.status.code,
            duration: ContinuousClock.now - started)
        if let id = context.logger[metadataKey: "hb.request.id"] {
            response.headers[.requestId] = "\(id)"
        }
        return response
    }
}

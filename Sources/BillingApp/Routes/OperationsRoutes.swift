import BillingCore
import BillingPostgres
import BillingRedis
import Foundation
import HTTPTypes
import Hummingbird

/// Health, readiness, metrics and the OpenAPI document.
struct OperationsRoutes: Sendable {
    let pool: PostgresPool
    let cache: RedisAccountCache?
    let metrics: BillingMetrics
    let openAPIDocument: String?

    func register(on router: Router<BasicRequestContext>) {
        router.get("health") { _, _ in
            APIResponse.ok(.object([("status", .string("UP")), ("service", .string("billing-service"))]))
        }
        // Ready when PostgreSQL answers; Redis down only degrades the cache.
        router.get("ready") { _, _ in
            do {
                _ = try await self.pool.withConnection { connection in try connection.query("SELECT 1") }
                let cache: String
                if let redis = self.cache { cache = await redis.ping() ? "up" : "degraded" } else { cache = "disabled" }
                return APIResponse.ok(
                    .object([("status", .string("READY")), ("database", .string("up")), ("cache", .string(cache))]))
            } catch {
                return APIResponse.failure(
                    code: "UNAVAILABLE", message: "database unreachable", status: .serviceUnavailable)
            }
        }
        router.get("metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: self.metrics.exposition())))
        }
        router.get("openapi.yaml") { _, _ in
            guard let document = self.openAPIDocument else {
                throw BillingError.notFound("the OpenAPI document")
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/yaml; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
        }
    }
}

import BillingCore
import BillingPostgres
import Foundation
import HTTPTypes
import Hummingbird

/// The operators' API under /admin/v1/billing: its own bearer tokens (`auth.admin_tokens`)
/// and the operator's name in `X-Operator` on every call.
struct AdminRoutes: Sendable {
    let pricing: PriceAdministration
    let service: BillingService
    let audit: any AuditLog
    let webhooks: PostgresWebhooks
    let reader: RequestBodyReader
    let adminTokens: [String]

    func register(on router: Router<BasicRequestContext>) {
        // The audit log wraps the token check: refused calls are recorded too.
        let group = router.group("admin/v1/billing")
            .add(middleware: AuditMiddleware(log: audit, bodyLimitBytes: reader.limitBytes))
            .add(middleware: InternalAuthMiddleware(tokens: adminTokens, realm: "admin"))
        group.post("adjustments") { request, _ in
            let operatorName = try Self.operatorName(request)
            var request = request
            let fields = try await self.reader.fields(&request)
            guard let amount = try fields.int64("amount_fen") else {
                throw BillingError.invalidArgument(field: "amount_fen", reason: "is required (+ credit, − debit)")
            }
            let adjustment = try AdjustmentRequest(
                adjustmentId: fields.requiredString("adjustment_id"), userId: fields.requiredString("user_id"),
                amountFen: amount, reason: fields.requiredString("reason"), operatorName: operatorName)
            return APIResponse.ok(Views.adjusted(try await self.service.adjust(adjustment)))
        }
        group.post("refunds") { request, _ in
            _ = try Self.operatorName(request)
            var request = request
            let fields = try await self.reader.fields(&request)
            return APIResponse.ok(Views.refunded(try await self.service.refund(try InternalRoutes.refund(fields))))
        }
        group.post("webhooks/endpoints") { request, _ in
            let operatorName = try Self.operatorName(request)
            var request = request
            let fields = try await self.reader.fields(&request)
            let url = try fields.requiredString("url")
            let secret = try fields.requiredString("secret")
            let events = try WebhookEndpoint.validate(url: url, secret: secret, events: try fields.strings("events"))
            let endpoint = try await self.webhooks.addEndpoint(
                url: url, secret: secret, events: events, operatorName: operatorName)
            return APIResponse.ok(Views.endpoint(endpoint))
        }
        group.get("webhooks/endpoints") { request, _ in
            _ = try Self.operatorName(request)
            return APIResponse.ok(.object([("endpoints", .array(try await self.webhooks.endpoints().map(Views.endpoint)))]))
        }
        group.delete("webhooks/endpoints/:id") { request, context in
            _ = try Self.operatorName(request)
            guard let id = Int64(try Self.parameter(context, "id")), try await self.webhooks.removeEndpoint(id) else {
                throw BillingError.notFound("webhook endpoint")
            }
            return APIResponse.ok(.object([("removed", .bool(true))]))
        }
        group.get("webhooks/deliveries") { request, _ in
            _ = try Self.operatorName(request)
            var request = request
            let fields = try await self.reader.fields(&request)
            let limit = try Self.pageSize(fields)
            let deliveries = try await self.webhooks.deliveries(limit: limit, before: try fields.int64("before"))
            return APIResponse.ok(.object([("deliveries", .array(deliveries.map(Views.delivery)))]))
        }
        group.post("webhooks/deliveries/:id/resend") { request, context in
            _ = try Self.operatorName(request)
            guard let id = Int64(try Self.parameter(context, "id")), try await self.webhooks.resend(id) else {
                throw BillingError.notFound("webhook delivery")
            }
            return APIResponse.ok(.object([("resent", .bool(true))]))
        }
        group.get("users/:user_id/ledger") { request, context in
            _ = try Self.operatorName(request)
            var request = request
            let fields = try await self.reader.fields(&request)
            let filter = try RecordFilter(
                type: try fields.string("type").map { (name: String) throws(BillingError) in try RecordType(name: name) })
            let page = try PageRequest.make(
                page: fields.int("page"), pageSize: fields.int("page_size"), cursor: fields.string("cursor"))
            let records = try await self.service.records(
                userId: try Self.parameter(context, "user_id"), filter: filter, page: page)
            return APIResponse.ok(Views.records(records))
        }
        group.get("audit") { request, _ in
            _ = try Self.operatorName(request)
            var request = request
            let fields = try await self.reader.fields(&request)
            let limit = try Self.pageSize(fields)
            let entries = try await self.audit.entries(before: try fields.int64("before"), limit: limit)
            return APIResponse.ok(
                .object([
                    ("entries", .array(entries.map(Views.audit))),
                    ("nextBefore", entries.count == limit ? entries.last.map { .int($0.id) } ?? .null : .null),
                ]))
        }
        group.get("services/:name/prices") { request, context in
            _ = try Self.operatorName(request)
            let versions = try await self.pricing.versions(of: try Self.parameter(context, "name"))
            return APIResponse.ok(.object([("versions", .array(versions.map { Views.priceVersion($0) }))]))
        }
        group.post("services/:name/prices") { request, context in
            let operatorName = try Self.operatorName(request)
            var request = request
            let fields = try await self.reader.fields(&request)
            guard let effectiveFrom = try fields.date("effective_from") else {
                throw BillingError.invalidArgument(field: "effective_from", reason: "is required")
            }
            let stored = try await self.pricing.addVersion(
                serviceName: try Self.parameter(context, "name"), price: try fields.unitPrice(),
                freeCallsPerMonth: try fields.int64("free_calls_per_month"), effectiveFrom: effectiveFrom,
                operatorName: operatorName)
            return APIResponse.ok(Views.priceVersion(stored.value, replayed: stored.replayed))
        }
        group.get("users/:user_id/prices") { request, context in
            _ = try Self.operatorName(request)
            let overrides = try await self.pricing.overrides(of: try Self.parameter(context, "user_id"))
            return APIResponse.ok(.object([("overrides", .array(overrides.map { Views.priceOverride($0) }))]))
        }
        group.post("users/:user_id/prices") { request, context in
            let operatorName = try Self.operatorName(request)
            var request = request
            let fields = try await self.reader.fields(&request)
            guard let from = try fields.date("from") else {
                throw BillingError.invalidArgument(field: "from", reason: "is required")
            }
            let service = try fields.string("service") ?? fields.requiredString("service_name")
            let stored = try await self.pricing.addOverride(
                userId: try Self.parameter(context, "user_id"), serviceName: service, price: try fields.unitPrice(),
                from: from, to: try fields.date("to"), operatorName: operatorName)
            return APIResponse.ok(Views.priceOverride(stored.value, replayed: stored.replayed))
        }
    }

    /// `page_size` of a keyset-paged list: 1…`Limits.maxPageSize`, default `Limits.defaultPageSize`.
    static func pageSize(_ fields: RequestFields) throws(BillingError) -> Int {
        let limit = try fields.int("page_size") ?? Limits.defaultPageSize
        guard (1...Limits.maxPageSize).contains(limit) else {
            throw .invalidArgument(field: "page_size", reason: "must be between 1 and \(Limits.maxPageSize)")
        }
        return limit
    }

    /// The operator named by `X-Operator`: required on every admin call.
    static func operatorName(_ request: Request) throws(BillingError) -> String {
        guard let name = request.headers[.operatorName], !name.isEmpty, name.utf8.count <= 128,
            name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f })
        else { throw .operatorRequired }
        return name
    }

    private static func parameter(_ context: BasicRequestContext, _ name: String) throws(BillingError) -> String {
        guard let value = context.parameters.get(name), !value.isEmpty else {
            throw .invalidArgument(field: name, reason: "is required")
        }
        return value
    }
}

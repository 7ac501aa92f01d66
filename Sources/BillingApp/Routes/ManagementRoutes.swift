import BillingCore
import Foundation
import HTTPTypes
import Hummingbird

/// The console's API under /api/v1/billing: handlers only translate and call a use case.
struct ManagementRoutes: Sendable {
    let service: BillingService
    let identity: UserIdentity
    let reader: RequestBodyReader

    func register(on router: Router<BasicRequestContext>) {
        let group = router.group("api/v1/billing")
        group.get("account") { request, _ in
            let (user, _) = try await self.user(request)
            return APIResponse.ok(Views.account(try await self.service.account(userId: user)))
        }
        group.get("settings") { request, _ in
            let (user, _) = try await self.user(request)
            return APIResponse.ok(Views.settings(try await self.service.settings(userId: user)))
        }
        group.put("settings") { request, _ in
            let (user, fields) = try await self.user(request)
            let update = SettingsUpdate(
                monthlySpendCapFen: try fields.integerChange("monthly_spend_cap_fen"),
                lowBalanceThresholdFen: try fields.integerChange("low_balance_threshold_fen"),
                capAlertPercents: try fields.integersChange("cap_alert_percents"))
            return APIResponse.ok(Views.settings(try await self.service.updateSettings(userId: user, update)))
        }
        group.get("holds") { request, _ in
            let (user, _) = try await self.user(request)
            let holds = try await self.service.pendingHolds(userId: user)
            return APIResponse.ok(.object([("holds", .array(holds.map(Views.hold)))]))
        }
        group.post("recharge") { request, _ in
            let (user, fields) = try await self.user(request)
            let outcome = try await self.recharge(request, user: user, fields: fields)
            return APIResponse.ok(Views.rechargeStarted(outcome))
        }
        group.get("recharge/orders/:order_id") { request, context in
            let (user, _) = try await self.user(request)
            guard let orderId = context.parameters.get("order_id"), !orderId.isEmpty else {
                throw BillingError.invalidArgument(field: "order_id", reason: "is required")
            }
            return APIResponse.ok(Views.order(try await self.service.order(userId: user, orderId: orderId)))
        }
        group.get("records") { request, _ in
            let (user, fields) = try await self.user(request)
            let filter = try RecordFilter(
                serviceName: fields.string("service_name"),
                type: try fields.string("type").map { (name: String) throws(BillingError) in try RecordType(name: name) },
                appId: fields.string("app_id"),
                from: try Self.date(fields, "from"), to: try Self.date(fields, "to"))
            let page = try PageRequest.make(
                page: fields.int("page"), pageSize: fields.int("page_size"), cursor: fields.string("cursor"))
            return APIResponse.ok(Views.records(try await self.service.records(userId: user, filter: filter, page: page)))
        }
        for window in [StatsWindow.today, .month] {
            group.get("stats/\(window.rawValue)") { request, _ in
                let (user, fields) = try await self.user(request)
                let stats = try await self.service.stats(
                    userId: user, serviceName: fields.string("service_name"), window: window)
                return APIResponse.ok(Views.stats(stats))
            }
        }
        group.get("stats/daily") { request, _ in
            let (user, fields) = try await self.user(request)
            let range = try Self.dayRange(
                from: fields.string("from"), to: fields.string("to"), today: self.service.today)
            return APIResponse.ok(Views.daily(try await self.service.dailyStats(userId: user, range: range)))
        }
        group.get("stats/summary") { request, _ in
            let (user, _) = try await self.user(request)
            return APIResponse.ok(Views.summary(try await self.service.summary(userId: user)))
        }
    }

    private func user(_ request: Request) async throws -> (String, RequestFields) {
        var request = request
        let fields = try await reader.fields(&request)
        return (try identity.user(of: request, fields: fields), fields)
    }

    private func recharge(_ request: Request, user: String, fields: RequestFields) async throws -> RechargeOrder {
        guard let amount = try fields.amount() else {
            throw BillingError.invalidArgument(field: "amount", reason: "amount or amount_fen is required")
        }
        let rechargeRequest = try RechargeRequest(
            userId: user, amountFen: amount, method: try PaymentMethod(text: fields.requiredString("payment_method")),
            currency: try fields.string("currency") ?? "CNY", returnURL: try fields.string("return_url"))
        return try await service.recharge(
            rechargeRequest, idempotencyKey: request.headers[.idempotencyKey],
            clientIP: ClientAddress.fromForwardedFor(request.headers[.forwardedFor]))
    }

    /// `from`…`to` (YYYY-MM-DD, both included); `to` defaults to today and `from` to 29
    /// days before `to` (30 days).
    static func dayRange(from: String?, to: String?, today: LocalDay) throws(BillingError) -> DayRange {
        let last = try to.map { (text: String) throws(BillingError) in try LocalDay(text: text, field: "to") } ?? today
        if let from { return try DayRange(from: try LocalDay(text: from, field: "from"), to: last) }
        var first = last
        for _ in 0..<29 { first = first.previous }
        return try DayRange(from: first, to: last)
    }

    static func date(_ fields: RequestFields, _ name: String) throws(BillingError) -> Date? {
        try fields.date(name)
    }
}

@testable import BillingApp
import BillingCore
import Foundation
import Testing

@Suite("Every route's success path over HTTP", .timeLimit(.minutes(1)))
struct RouteTests {
    @Test("recharge → signed callback → deduct → records → stats, end to end")
    func fullFlow() async throws {
        try await TestApp.with { app in
            try await app.fund("u1", yuan: "12.34")
            let account = try await app.send(.get, "/api/v1/billing/account?user_id=u1")
            #expect(account.status == 200)
            #expect(account.data?["balance"] == .number("12.34"))
            #expect(account.data?["balanceFen"]?.int64 == 1234)
            #expect(account.data?["quotas"]?.text == nil)

            // Use up the free quota of "payment" in one call, then one mixed and one paid call.
            #expect(try await app.deduct("u1", "payment", count: 999).data?["mode"] == .string("free"))
            let mixed = try await app.deduct("u1", "payment", count: 3, requestId: "req-1")
            #expect(mixed.status == 200)
            #expect(mixed.data?["mode"] == .string("mixed"))
            #expect(mixed.data?["amountFen"]?.int64 == 20)
            #expect(mixed.data?["amount"] == .number("0.20"))
            #expect(mixed.data?["balanceFen"]?.int64 == 1214)
            let replay = try await app.deduct("u1", "payment", count: 3, requestId: "req-1")
            #expect(replay.data?["replayed"] == .bool(true))
            #expect(replay.data?["recordIds"] == mixed.data?["recordIds"])

            let check = try await app.internal("check", #"{"userId": "u1", "serviceName": "payment", "count": 2}"#)
            #expect(check.data?["allowed"] == .bool(true))
            #expect(check.data?["mode"] == .string("balance"))
            #expect(check.data?["costFen"]?.int64 == 20)

            let records = try await app.send(.get, "/api/v1/billing/records?user_id=u1&page_size=2")
            #expect(records.data?["total"]?.int64 == 3)
            guard case .array(let firstPage)? = records.data?["records"] else {
                Issue.record("no records array")
                return
            }
            #expect(firstPage.count == 2)
            #expect(firstPage[0]["typeName"] == .string("balance"))
            #expect(firstPage[0]["amountFen"]?.int64 == 20)
            let cursor = try #require(records.data?["nextCursor"]?.text)
            let next = try await app.send(.get, "/api/v1/billing/records?user_id=u1&pageSize=2&cursor=\(cursor)")
            guard case .array(let secondPage)? = next.data?["records"] else {
                Issue.record("no records array")
                return
            }
            #expect(secondPage.count == 1)
            let onlyPaid = try await app.send(.get, "/api/v1/billing/records?user_id=u1&type=balance")
            #expect(onlyPaid.data?["total"]?.int64 == 1)

            let today = try await app.send(.get, "/api/v1/billing/stats/today?user_id=u1")
            #expect(today.data?["totalCount"]?.int64 == 1_002)
            #expect(today.data?["paidCount"]?.int64 == 2)
            #expect(today.data?["totalCostFen"]?.int64 == 20)
            #expect(today.data?["period"] == .string("today"))
            let month = try await app.send(.get, "/api/v1/billing/stats/month?user_id=u1&service_name=payment")
            #expect(month.data?["freeCount"]?.int64 == 1_000)
            let summary = try await app.send(.get, "/api/v1/billing/stats/summary?user_id=u1")
            #expect(summary.data?["totalCostFen"]?.int64 == 20)
            guard case .array(let services)? = summary.data?["services"] else {
                Issue.record("no services array")
                return
            }
            #expect(services.count == 3)
        }
    }

    @Test("a recharge order can be read back by its owner only")
    func orderStatus() async throws {
        try await TestApp.with { app in
            let started = try await app.send(
                .post, "/api/v1/billing/recharge?user_id=u1", json: #"{"amount_fen": 500, "payment_method": "wechat"}"#)
            #expect(started.status == 502)
            #expect(started.errorCode == "PAYMENT_SERVICE_UNAVAILABLE")
            let id = try await app.parts.pool.withConnection { connection in
                try connection.query("SELECT id FROM recharge_order WHERE user_id = 'u1'")[0].string(0)
            }
            let order = try await app.send(.get, "/api/v1/billing/recharge/orders/\(id)?user_id=u1")
            #expect(order.status == 200)
            #expect(order.data?["status"] == .string("failed"))
            #expect(order.data?["amountFen"]?.int64 == 500)
            let other = try await app.send(.get, "/api/v1/billing/recharge/orders/\(id)?user_id=u2")
            #expect(other.status == 404)
            #expect(other.errorCode == "ORDER_NOT_FOUND")
        }
    }

    @Test("insufficient balance on deduct is 402 and charges nothing; on check it is allowed: false")
    func insufficient() async throws {
        try await TestApp.with { app in
            _ = try await app.deduct("poor", "asset", count: 1_000)
            let denied = try await app.deduct("poor", "asset", count: 1)
            #expect(denied.status == 402)
            #expect(denied.errorCode == "INSUFFICIENT_BALANCE")
            let check = try await app.internal("check", #"{"user_id": "poor", "service_name": "asset", "count": 1}"#)
            #expect(check.status == 200)
            #expect(check.data?["allowed"] == .bool(false))
            #expect(check.data?["reason"] == .string("insufficient balance"))
            let records = try await app.send(.get, "/api/v1/billing/records?user_id=poor")
            #expect(records.data?["total"]?.int64 == 1)
        }
    }

    @Test("health, readiness, metrics and the OpenAPI document")
    func operations() async throws {
        try await TestApp.with { app in
            let health = try await app.send(.get, "/health")
            #expect(health.data?["status"] == .string("UP"))
            #expect(health.data?["service"] == .string("billing-service"))
            #expect(try await app.send(.get, "/ready").status == 200)
            _ = try await app.deduct("m1", "passport", count: 1)
            let metrics = try await app.send(.get, "/metrics")
            #expect(metrics.text.contains(#"http_requests_total{route="/internal/v1/billing/deduct",method="POST",status="200"} 1"#))
            #expect(metrics.text.contains(#"billing_deductions_total{mode="free"} 1"#))
            #expect(metrics.text.contains("billing_lane_batch_size_bucket"))
            let document = try await app.send(.get, "/openapi.yaml")
            #expect(document.status == 200 && document.text.hasPrefix("openapi: 3.1"))
        }
    }

    @Test("the real server answers over a socket")
    func live() async throws {
        try await TestApp.with(.live) { app in
            let health = try await app.send(.get, "/health")
            #expect(health.status == 200)
            #expect(health.headers[.requestId] != nil)
            #expect(try await app.deduct("live", "passport", count: 2).data?["freeCount"]?.int64 == 2)
        }
    }
}

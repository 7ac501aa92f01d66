import BillingCore
import Foundation
import Testing
import TestSupport

/// The use cases over the in-memory ports.
struct Harness {
    let clock = ManualClock(date("2026-11-26 10:00:00"))
    let ledger: InMemoryLedger
    let payments = ScriptedPaymentGateway()
    let cache: MemoryCache?
    let service: BillingService

    init(cache: MemoryCache? = nil) {
        ledger = InMemoryLedger(clock: clock)
        self.cache = cache
        service = BillingService(
            catalog: .platformDefault, calendar: .platformDefault, clock: clock, ledger: ledger, accounts: ledger,
            cache: cache, orders: ledger, payments: payments, queries: ledger)
    }
}

@Suite("Billing use cases")
struct BillingServiceTests {
    @Test("a new account reads zero balance and every catalog quota untouched, without creating rows")
    func newAccount() async throws {
        let harness = Harness()
        let account = try await harness.service.account(userId: "new")
        #expect(account.balanceFen == .zero)
        #expect(account.quotas.map(\.serviceName) == ["asset", "passport", "payment"])
        #expect(account.quotas.map(\.usage.remaining) == [1_000, 10_000, 1_000])
        #expect(account.quotas.allSatisfy { $0.period == period("2026-11") })
        #expect(await harness.ledger.snapshot.quotas.isEmpty)
    }

    @Test("check agrees with the deduction that follows it")
    func checkThenDeduct() async throws {
        let harness = Harness()
        await harness.ledger.setBalance("u1", 25)
        await harness.ledger.setQuota("u1", "payment", used: 999, total: 1_000, period: period("2026-11"))
        let check = try await harness.service.check(userId: "u1", serviceName: "payment", count: 3)
        #expect(check.mode == .mixed && check.costFen == Fen(20))
        let receipt = try await harness.service.deduct(request("u1", "payment", count: 3))
        #expect(receipt.costFen == check.costFen)
        #expect(receipt.mode == check.mode)
        let after = try await harness.service.check(userId: "u1", serviceName: "payment", count: 1)
        #expect(!after.allowed && after.mode == .denied && after.reason == "insufficient balance")
    }

    @Test("unknown services are rejected before reaching the ledger")
    func unknownService() async {
        let harness = Harness()
        await #expect(throws: BillingError.unknownService("weather")) {
            try await harness.service.deduct(request("u1", "weather"))
        }
        await #expect(throws: BillingError.unknownService("weather")) {
            try await harness.service.check(userId: "u1", serviceName: "weather", count: 1)
        }
        #expect(await harness.ledger.records.isEmpty)
    }

    @Test("check is served from the cache when it has the account")
    func checkUsesCache() async throws {
        let cache = MemoryCache()
        let harness = Harness(cache: cache)
        await cache.store(AccountState(balanceFen: Fen(777), quotas: [:]), of: "u1", period: period("2026-11"))
        let answer = try await harness.service.check(userId: "u1", serviceName: "passport", count: 1)
        #expect(answer.balanceFen == Fen(777))
    }

    @Test("recharge creates a pending order with the Payment Service's pay URL")
    func recharge() async throws {
        let harness = Harness()
        let request = try RechargeRequest(userId: "u1", amountFen: Fen(1_234), method: .alipay)
        let order = try await harness.service.recharge(request, idempotencyKey: nil)
        #expect(order.status == .pending)
        #expect(order.id.hasPrefix("recharge_u1_"))
        #expect(order.payURL == "http://127.0.0.1:9102/pay/pay_\(order.id)")
        #expect(harness.payments.intents.map(\.amountFen) == [Fen(1_234)])
        #expect(harness.payments.intents[0].subject.contains("12.34"))
    }

    @Test("two recharges in the same millisecond get different order ids")
    func sameInstant() async throws {
        let harness = Harness()
        let request = try RechargeRequest(userId: "u1", amountFen: Fen(100), method: .alipay)
        let first = try await harness.service.recharge(request, idempotencyKey: nil)
        let second = try await harness.service.recharge(request, idempotencyKey: nil)
        #expect(first.id != second.id)
    }

    @Test("the same Idempotency-Key returns the same order; other parameters conflict")
    func rechargeIdempotency() async throws {
        let harness = Harness()
        let request = try RechargeRequest(userId: "u1", amountFen: Fen(100), method: .alipay)
        let first = try await harness.service.recharge(request, idempotencyKey: "k1")
        let again = try await harness.service.recharge(request, idempotencyKey: "k1")
        #expect(first.id == again.id)
        #expect(harness.payments.intents.count == 1)
        let other = try RechargeRequest(userId: "u1", amountFen: Fen(200), method: .alipay)
        await #expect(throws: BillingError.idempotencyConflict(requestId: "k1")) {
            try await harness.service.recharge(other, idempotencyKey: "k1")
        }
    }

    @Test("a Payment Service failure marks the order failed and says PAYMENT_SERVICE_UNAVAILABLE")
    func paymentDown() async throws {
        let harness = Harness()
        harness.payments.failNextCalls(with: .paymentServiceUnavailable("connection refused"))
        let request = try RechargeRequest(userId: "u1", amountFen: Fen(100), method: .alipay)
        await #expect(throws: BillingError.paymentServiceUnavailable("connection refused")) {
            try await harness.service.recharge(request, idempotencyKey: nil)
        }
        let orders = await harness.ledger.orders.values
        #expect(orders.count == 1)
        #expect(orders.first?.status == .failed)
        #expect(orders.first?.failureReason?.contains("connection refused") == true)
    }

    @Test("recharge → callback → deduct → records → stats")
    func fullFlow() async throws {
        let harness = Harness()
        let order = try await harness.service.recharge(
            RechargeRequest(userId: "u1", amountFen: Fen(500), method: .wechat), idempotencyKey: nil)
        let callback = try PaymentCallback(
            orderId: order.id, paymentId: order.paymentId, amountFen: Fen(500), outcome: .succeeded)
        let settled = try await harness.service.settle(callback)
        #expect(settled.creditedFen == Fen(500) && settled.balanceAfterFen == Fen(500))
        let duplicate = try await harness.service.settle(callback)
        #expect(duplicate.creditedFen == .zero)

        await harness.ledger.setQuota("u1", "payment", used: 1_000, total: 1_000, period: period("2026-11"))
        _ = try await harness.service.deduct(request("u1", "payment", count: 3, app: "app1"))
        _ = try await harness.service.deduct(request("u1", "passport", count: 2))
        #expect(try await harness.service.account(userId: "u1").balanceFen == Fen(470))

        let page = try await harness.service.records(userId: "u1", filter: RecordFilter(), page: .offset(page: 1, size: 20))
        #expect(page.total == 2)
        #expect(page.records.map(\.serviceName) == ["passport", "payment"])
        let appOnly = try await harness.service.records(
            userId: "u1", filter: RecordFilter(appId: "app1"), page: .offset(page: 1, size: 20))
        #expect(appOnly.records.count == 1)

        let today = try await harness.service.stats(userId: "u1", serviceName: nil, window: .today)
        #expect(today.usage.totalCount == 5 && today.usage.paidCount == 3 && today.usage.freeCount == 2)
        #expect(today.usage.totalCostFen == Fen(30))
        let summary = try await harness.service.summary(userId: "u1")
        #expect(summary.services.map(\.serviceName) == ["asset", "passport", "payment"])
        #expect(summary.total.totalCostFen == Fen(30))

        harness.clock.set(date("2026-11-27 10:00:00"))
        let tomorrow = try await harness.service.stats(userId: "u1", serviceName: nil, window: .today)
        #expect(tomorrow.usage.totalCount == 0)
        let month = try await harness.service.stats(userId: "u1", serviceName: "payment", window: .month)
        #expect(month.usage.totalCount == 3)
    }

    @Test("another user's order is not found")
    func orderOwnership() async throws {
        let harness = Harness()
        let order = try await harness.service.recharge(
            RechargeRequest(userId: "u1", amountFen: Fen(500), method: .wechat), idempotencyKey: nil)
        #expect(try await harness.service.order(userId: "u1", orderId: order.id).id == order.id)
        await #expect(throws: BillingError.orderNotFound(order.id)) {
            try await harness.service.order(userId: "u2", orderId: order.id)
        }
    }

    @Test("a new month brings a fresh free quota")
    func newMonth() async throws {
        let harness = Harness()
        _ = try await harness.service.deduct(request("u1", "payment", count: 10))
        #expect(try await harness.service.account(userId: "u1").quotas[2].usage.used == 10)
        harness.clock.set(date("2026-12-01 00:00:00"))
        let december = try await harness.service.account(userId: "u1")
        #expect(december.quotas[2].usage.used == 0)
        #expect(december.quotas[2].period == period("2026-12"))
    }

    @Test("records filters are validated")
    func recordValidation() async {
        let harness = Harness()
        await #expect(throws: BillingError.unknownService("weather")) {
            try await harness.service.records(
                userId: "u1", filter: RecordFilter(serviceName: "weather"), page: .offset(page: 1, size: 1))
        }
        #expect(throws: BillingError.self) { try PageRequest.make(page: 1, pageSize: 101, cursor: nil) }
        #expect(throws: BillingError.self) { try PageRequest.make(page: 0, pageSize: 10, cursor: nil) }
        #expect(throws: BillingError.self) { try PageRequest.make(page: nil, pageSize: nil, cursor: "bogus") }
        // A cursor has one spelling: what the service handed out.
        #expect((try? RecordCursor(text: "r5"))?.lastId == 5)
        for other in ["r+5", "r05", "r-5", "r0", "r", "R5", "r5 "] {
            #expect(throws: BillingError.self, "\(other)") { try RecordCursor(text: other) }
        }
        #expect(throws: BillingError.self) { try RecordFilter(from: Date(timeIntervalSince1970: 2), to: Date(timeIntervalSince1970: 1)) }
    }

    @Test("cursor pages walk every record once, newest first")
    func cursorPaging() async throws {
        let harness = Harness()
        for _ in 0..<7 { _ = try await harness.service.deduct(request("u1", "passport")) }
        var seen: [Int64] = []
        var page = try await harness.service.records(userId: "u1", filter: RecordFilter(), page: .offset(page: 1, size: 3))
        seen += page.records.map(\.id)
        while let cursor = page.nextCursor {
            page = try await harness.service.records(
                userId: "u1", filter: RecordFilter(), page: try PageRequest.make(page: nil, pageSize: 3, cursor: cursor.text))
            seen += page.records.map(\.id)
        }
        #expect(seen == Array((1...7).reversed()))
    }
}

import BillingCore
import BillingPostgres
import Foundation
import Testing

@Suite("Recharge orders in PostgreSQL", .timeLimit(.minutes(1)))
struct OrderStoreTests {
    func makeOrder(_ db: TestLedger, user: String = "u1", fen: Int64 = 500, key: String? = nil, id: String? = nil)
        throws -> RechargeOrder
    {
        let request = try RechargeRequest(userId: user, amountFen: Fen(fen), method: .wechat, returnURL: "https://console/x")
        return RechargeOrder(
            id: id ?? "recharge_\(user)_\(UInt32.random(in: 0...UInt32.max))", request: request, idempotencyKey: key,
            createdAt: db.clock.now())
    }

    @Test("an order is stored and read back whole; a second insert of its id is a duplicate")
    func insertAndRead() async throws {
        try await TestLedger.with { db in
            let order = try makeOrder(db)
            #expect(try await db.orders.insert(order) == .inserted)
            #expect(try await db.orders.order(id: order.id) == order)
            #expect(try await db.orders.insert(order) == .duplicateId)
            #expect(try await db.orders.order(id: "missing") == nil)
        }
    }

    @Test("an idempotency key finds the user's existing order")
    func idempotencyKey() async throws {
        try await TestLedger.with { db in
            let first = try makeOrder(db, key: "k1")
            #expect(try await db.orders.insert(first) == .inserted)
            #expect(try await db.orders.insert(try makeOrder(db, key: "k1")) == .existing(first))
            #expect(try await db.orders.order(userId: "u1", idempotencyKey: "k1") == first)
            #expect(try await db.orders.insert(try makeOrder(db, user: "u2", key: "k1")) == .inserted)
        }
    }

    @Test("payment ids attach, failures mark only pending orders")
    func attachAndFail() async throws {
        try await TestLedger.with { db in
            let order = try makeOrder(db)
            _ = try await db.orders.insert(order)
            let attached = try await db.orders.attachPayment(orderId: order.id, paymentId: "p1", payURL: "http://pay/p1")
            #expect(attached.paymentId == "p1" && attached.payURL == "http://pay/p1")
            try await db.orders.markFailed(orderId: order.id, reason: "payment service down")
            let failed = try await db.orders.order(id: order.id)
            #expect(failed?.status == .failed && failed?.failureReason == "payment service down")
        }
    }

    @Test("20 concurrent identical success callbacks credit exactly once")
    func concurrentCallbacks() async throws {
        try await TestLedger.with { db in
            let order = try makeOrder(db, fen: 700)
            _ = try await db.orders.insert(order)
            _ = try await db.orders.attachPayment(orderId: order.id, paymentId: "p-\(order.id)", payURL: "http://pay")
            let callback = try PaymentCallback(
                orderId: order.id, paymentId: "p-\(order.id)", amountFen: Fen(700), outcome: .succeeded)
            let credits = await withTaskGroup(of: Int64.self) { group in
                for _ in 0..<20 {
                    group.addTask { (try? await db.orders.settle(callback, at: db.clock.now()))?.creditedFen.value ?? -1 }
                }
                return await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            #expect(credits.sorted() == Array(repeating: 0, count: 19) + [700])
            #expect(try await db.balance("u1") == Fen(700))
        }
    }

    @Test("a callback found by payment id alone settles its order")
    func byPaymentId() async throws {
        try await TestLedger.with { db in
            let order = try makeOrder(db)
            _ = try await db.orders.insert(order)
            _ = try await db.orders.attachPayment(orderId: order.id, paymentId: "only-pay", payURL: "http://pay")
            let callback = try PaymentCallback(orderId: nil, paymentId: "only-pay", amountFen: Fen(500), outcome: .succeeded)
            #expect(try await db.orders.settle(callback, at: db.clock.now()).creditedFen == Fen(500))
        }
    }

    @Test("a mismatched amount or unknown order is refused and credits nothing")
    func refused() async throws {
        try await TestLedger.with { db in
            let order = try makeOrder(db)
            _ = try await db.orders.insert(order)
            let wrong = try PaymentCallback(orderId: order.id, paymentId: nil, amountFen: Fen(499), outcome: .succeeded)
            await #expect(throws: BillingError.amountMismatch(expectedFen: 500, receivedFen: 499)) {
                try await db.orders.settle(wrong, at: db.clock.now())
            }
            let unknown = try PaymentCallback(orderId: "nope", paymentId: nil, amountFen: Fen(1), outcome: .succeeded)
            await #expect(throws: BillingError.orderNotFound("nope")) { try await db.orders.settle(unknown, at: db.clock.now()) }
            #expect(try await db.orders.order(id: order.id)?.status == .pending)
            #expect(try await db.balance("u1") == .zero)
        }
    }

    @Test("a success callback after the order was marked failed still credits it, once")
    func lateSuccess() async throws {
        try await TestLedger.with { db in
            let order = try makeOrder(db)
            _ = try await db.orders.insert(order)
            try await db.orders.markFailed(orderId: order.id, reason: "timeout")
            let callback = try PaymentCallback(orderId: order.id, paymentId: "late", amountFen: Fen(500), outcome: .succeeded)
            #expect(try await db.orders.settle(callback, at: db.clock.now()).creditedFen == Fen(500))
            #expect(try await db.orders.settle(callback, at: db.clock.now()).creditedFen == .zero)
            #expect(try await db.balance("u1") == Fen(500))
        }
    }
}

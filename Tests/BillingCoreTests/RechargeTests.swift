import BillingCore
import Foundation
import Testing

@Suite("Recharge orders and payment callbacks")
struct RechargeTests {
    func order(amount: Int64 = 1_000, status: RechargeStatus = .pending, paymentId: String? = "pay_1") throws
        -> RechargeOrder
    {
        let request = try RechargeRequest(userId: "u1", amountFen: Fen(amount), method: .alipay)
        var order = RechargeOrder(id: "recharge_u1_1", request: request, idempotencyKey: nil, createdAt: Date())
        order.status = status
        order.paymentId = paymentId
        return order
    }

    func callback(_ outcome: PaymentCallback.Outcome, amount: Int64 = 1_000, paymentId: String? = "pay_1") throws
        -> PaymentCallback
    {
        try PaymentCallback(orderId: "recharge_u1_1", paymentId: paymentId, amountFen: Fen(amount), outcome: outcome)
    }

    @Test("a success callback on a pending order credits the amount once")
    func successCredits() throws {
        var order = try order()
        let paidAt = Date(timeIntervalSince1970: 5)
        #expect(try order.settle(callback(.succeeded), at: paidAt) == Fen(1_000))
        #expect(order.status == .success && order.paidAt == paidAt)
        #expect(try order.settle(callback(.succeeded), at: Date()) == .zero)
        #expect(order.paidAt == paidAt)
    }

    @Test("a callback whose amount differs from the order is refused and changes nothing")
    func amountMismatch() throws {
        var order = try order()
        let before = order
        #expect(throws: BillingError.amountMismatch(expectedFen: 1_000, receivedFen: 999)) {
            try order.settle(callback(.succeeded, amount: 999), at: Date())
        }
        #expect(order == before)
    }

    @Test("a callback for another payment id is refused")
    func paymentMismatch() throws {
        var order = try order()
        #expect(throws: BillingError.self) { try order.settle(callback(.succeeded, paymentId: "pay_2"), at: Date()) }
        #expect(order.status == .pending)
    }

    @Test("a verified success callback still credits an order marked failed or expired", arguments: [RechargeStatus.failed, .expired])
    func lateSuccess(status: RechargeStatus) throws {
        var order = try order(status: status)
        #expect(try order.settle(callback(.succeeded), at: Date()) == Fen(1_000))
        #expect(order.status == .success)
    }

    @Test("a failure callback fails a pending order and credits nothing", arguments: [PaymentCallback.Outcome.failed, .closed])
    func failure(outcome: PaymentCallback.Outcome) throws {
        var order = try order()
        #expect(try order.settle(callback(outcome), at: Date()) == .zero)
        #expect(order.status == .failed)
        #expect(order.failureReason != nil)
    }

    @Test("a failure callback never undoes a success")
    func failureAfterSuccess() throws {
        var order = try order(status: .success)
        #expect(try order.settle(callback(.failed), at: Date()) == .zero)
        #expect(order.status == .success)
    }

    @Test("a success callback adopts the payment id when the order had none yet")
    func adoptsPaymentId() throws {
        var order = try order(paymentId: nil)
        _ = try order.settle(callback(.succeeded, paymentId: "pay_9"), at: Date())
        #expect(order.paymentId == "pay_9")
    }

    @Test("expiry and failure only move pending orders")
    func terminalStates() throws {
        var order = try order(status: .success)
        order.expire()
        order.markFailed(reason: "late")
        #expect(order.status == .success)
        var pending = try self.order()
        pending.expire()
        #expect(pending.status == .expired)
    }

    @Test(
        "recharge amounts run from 0.01 to 1,000,000.00 yuan",
        arguments: [(1, true), (100_000_000, true), (0, false), (-100, false), (100_000_001, false)] as [(Int64, Bool)])
    func amountBounds(fen: Int64, valid: Bool) {
        let made = try? RechargeRequest(userId: "u1", amountFen: Fen(fen), method: .wechat)
        #expect((made != nil) == valid)
    }

    @Test("payment methods are alipay, wechat and stripe")
    func methods() throws {
        #expect(try PaymentMethod(text: "WeChat") == .wechat)
        #expect(throws: BillingError.self) { try PaymentMethod(text: "paypal") }
    }

    @Test("only CNY and http(s) return URLs are accepted")
    func currencyAndURL() {
        #expect(throws: BillingError.self) { try RechargeRequest(userId: "u1", amountFen: Fen(100), method: .stripe, currency: "USD") }
        #expect(throws: BillingError.self) {
            try RechargeRequest(userId: "u1", amountFen: Fen(100), method: .stripe, returnURL: "javascript:alert(1)")
        }
    }

    @Test("callback statuses parse in either case, anything else is rejected")
    func callbackStatus() throws {
        #expect(try PaymentCallback.Outcome(status: "success") == .succeeded)
        #expect(try PaymentCallback.Outcome(status: "FAILED") == .failed)
        #expect(try PaymentCallback.Outcome(status: "CLOSED") == .closed)
        #expect(throws: BillingError.self) { try PaymentCallback.Outcome(status: "MAYBE") }
        #expect(throws: BillingError.self) {
            try PaymentCallback(orderId: "", paymentId: nil, amountFen: Fen(1), outcome: .succeeded)
        }
    }

    @Test("order ids are recharge_{user}_{milliseconds}")
    func orderId() {
        let instant = Date(timeIntervalSince1970: 1_764_000_000.123)
        #expect(RechargeOrder.makeId(userId: "u7", at: instant) == "recharge_u7_1764000000123")
        #expect(RechargeOrder.makeId(userId: "u7", at: instant, offsetMilliseconds: 1) == "recharge_u7_1764000000124")
    }

    @Test(
        "the payer's address is the first X-Forwarded-For entry, and only an IP literal",
        arguments: [
            ("203.0.113.7", "203.0.113.7"), (" 203.0.113.7 , 10.0.0.1", "203.0.113.7"), ("2001:db8::1", "2001:db8::1"),
            ("", nil), ("unknown", nil), ("<script>", nil), ("1.2.3.4\r\nX-Evil: 1", nil),
        ] as [(String, String?)])
    func clientAddress(header: String, expected: String?) {
        #expect(ClientAddress.fromForwardedFor(header) == expected)
    }
}

import BillingCore
import Foundation
import Synchronization
import TestSupport


/// A Payment Service that answers from a script: succeed with numbered ids, or fail.
final class ScriptedPaymentGateway: PaymentGateway {
    private let state = Mutex<(failure: BillingError?, calls: [PaymentIntent])>((nil, []))

    func failNextCalls(with error: BillingError?) { state.withLock { $0.failure = error } }

    var intents: [PaymentIntent] { state.withLock { $0.calls } }

    func createPayment(_ intent: PaymentIntent) async throws(BillingError) -> PaymentSession {
        let failure = state.withLock { state -> BillingError? in
            state.calls.append(intent)
            return state.failure
        }
        if let failure { throw failure }
        let id = "pay_\(intent.orderId)"
        return PaymentSession(paymentId: id, payURL: "http://127.0.0.1:9102/pay/\(id)")
    }
}

/// An in-memory cache that can be told to forget or to hold stale data.
final class MemoryCache: AccountCache {
    private let entries = Mutex<[String: AccountState]>([:])

    func account(of userId: String, period: QuotaPeriod) async -> AccountState? {
        entries.withLock { $0["\(userId)|\(period)"] }
    }

    func store(_ state: AccountState, of userId: String, period: QuotaPeriod) async {
        entries.withLock { $0["\(userId)|\(period)"] = state }
    }
}

/// Builds dates in a time zone for readable tests.
func date(_ text: String, in zone: String = "Asia/Shanghai") -> Date { testDate(text, in: zone) }

func request(
    _ user: String = "u1", _ service: String = "passport", count: Int64 = 1, app: String? = nil,
    requestId: String? = nil
) -> DeductionRequest {
    do {
        return try DeductionRequest(userId: user, serviceName: service, count: count, appId: app, requestId: requestId)
    } catch {
        fatalError("bad test request: \(error)")
    }
}

func period(_ text: String) -> QuotaPeriod {
    do { return try QuotaPeriod(text: text) } catch { fatalError("bad test period \(text)") }
}

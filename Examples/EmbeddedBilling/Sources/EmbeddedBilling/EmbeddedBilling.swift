import BillingCore
import Foundation

/// Charges a few calls through BillingCore with in-memory adapters and checks each answer:
/// free, mixed, insufficient, an idempotent retry, and a conflicting reuse of a request id.
/// Exits non-zero when any answer is not what the rules say, so `make test` notices.
@main
struct EmbeddedBilling {
    static func main() async throws {
        // The embedder's own catalog: 2 fen a search, the first 100 a month free.
        let catalog = try ServiceCatalog(entries: [CatalogEntry(name: "search", priceFen: Fen(2), freeCallsPerMonth: 100)])
        let store = MemoryStore(catalog: catalog, calendar: .platformDefault, clock: SystemClock())
        let billing = BillingService(
            catalog: catalog, calendar: .platformDefault, clock: SystemClock(), ledger: store, accounts: store,
            cache: nil, orders: store, payments: InstantPayments(), queries: store)

        // Top up 1.00 yuan the way a Payment Service would: an order, then its success callback.
        let order = try await billing.recharge(
            RechargeRequest(userId: "alice", amountFen: Fen(100), method: .alipay), idempotencyKey: nil)
        _ = try await billing.settle(
            PaymentCallback(orderId: order.id, paymentId: order.paymentId, amountFen: Fen(100), outcome: .succeeded))

        var failures: [String] = []
        func expect(_ condition: Bool, _ what: String) {
            print((condition ? "ok    " : "FAILED ") + what)
            if !condition { failures.append(what) }
        }

        let free = try await billing.deduct(DeductionRequest(userId: "alice", serviceName: "search", count: 90, requestId: "r1"))
        expect(free.mode == .free && free.freeCount == 90 && free.costFen == .zero, "90 calls are free")

        let mixed = try await billing.deduct(DeductionRequest(userId: "alice", serviceName: "search", count: 30, requestId: "r2"))
        expect(
            mixed.mode == .mixed && mixed.freeCount == 10 && mixed.paidCount == 20 && mixed.costFen == Fen(40)
                && mixed.balanceAfterFen == Fen(60), "30 more: 10 free, 20 paid at 2 fen, 60 fen left")

        do {
            _ = try await billing.deduct(DeductionRequest(userId: "alice", serviceName: "search", count: 31, requestId: "r3"))
            expect(false, "31 paid calls (62 fen) with 60 fen are refused")
        } catch {
            expect(error.code == "INSUFFICIENT_BALANCE", "31 paid calls (62 fen) with 60 fen are refused: \(error.code)")
        }

        let retry = try await billing.deduct(DeductionRequest(userId: "alice", serviceName: "search", count: 30, requestId: "r2"))
        expect(retry.replayed && retry.recordIds == mixed.recordIds, "a retry of r2 replays its receipt")
        let account = try await billing.account(userId: "alice")
        expect(account.balanceFen == Fen(60), "and charges nothing: still 60 fen")

        do {
            _ = try await billing.deduct(DeductionRequest(userId: "alice", serviceName: "search", count: 1, requestId: "r2"))
            expect(false, "r2 with other parameters is a conflict")
        } catch {
            expect(error.code == "IDEMPOTENCY_CONFLICT", "r2 with other parameters is a conflict: \(error.code)")
        }

        expect(try AlgorithmOnly.run(), "the README's snippet: 100 free + 20 paid = 40 fen, 460 left")

        if !failures.isEmpty {
            print("\(failures.count) expectation(s) failed")
            exit(1)
        }
        print("embedded billing: all answers as the rules say")
    }
}

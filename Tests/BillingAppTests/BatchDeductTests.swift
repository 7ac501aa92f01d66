@testable import BillingApp
import BillingCore
import BillingProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

/// `POST /internal/v1/billing/deduct/batch` (ledger-features.md §5): per-item results in
/// order, each item idempotent by its request id and failing alone; limits refuse the whole.
@Suite("Batch deductions over HTTP", .timeLimit(.minutes(2)))
struct BatchDeductTests {
    func batch(_ app: TestApp, _ items: [String]) async throws -> TestApp.Reply {
        try await app.internal("deduct/batch", #"{"items": [\#(items.joined(separator: ","))]}"#)
    }

    func item(_ user: String, _ service: String = "payment", count: Int = 1, id: String?) -> String {
        let requestId = id.map { #", "request_id": "\#($0)""# } ?? ""
        return #"{"user_id": "\#(user)", "service_name": "\#(service)", "count": \#(count)\#(requestId)}"#
    }

    @Test("items answer in order, each its own; a request id repeated in the batch replays; retried batches replay")
    func perItem() async throws {
        try await TestApp.with { app in
            try await app.fund("b1", yuan: "0.30")
            let items = [
                item("b1", count: 1_000, id: "r1"),  // free
                item("b1", count: 2, id: "r2"),  // 20 fen
                item("b1", count: 2, id: "r3"),  // 20 fen more than the 10 left: refused alone
                item("b1", "weather", id: "r4"),  // unknown service
                item("b1", count: 1, id: nil),  // no request id
                item("b2", count: 1, id: "r1"),  // another user, same id: its own
                item("b1", count: 2, id: "r2"),  // repeated id: replays item 1
                #"{"user_id": "b1"}"#,  // unparsable item
                item("b1", count: 1, id: "r5"),  // 10 fen: fits
            ]
            let reply = try await batch(app, items)
            #expect(reply.status == 200, "\(reply.text)")
            guard case .array(let results)? = reply.data?["results"] else {
                Issue.record("no results: \(reply.text)")
                return
            }
            #expect(results.count == items.count)
            #expect(results.enumerated().allSatisfy { $0.element["index"] == .int($0.offset) })
            let codes = results.map { $0["error"]?["code"] ?? .null }
            #expect(codes == [
                .null, .null, .string("INSUFFICIENT_BALANCE"), .string("UNKNOWN_SERVICE"), .string("INVALID_ARGUMENT"),
                .null, .null, .string("INVALID_ARGUMENT"), .null,
            ])
            #expect(results[1]["amountFen"] == .int(20) && results[6]["replayed"] == .bool(true))
            #expect(results[8]["balanceFen"] == .int(0))
            // The same batch again: every applied item replays, nothing is charged twice.
            let again = try await batch(app, items)
            guard case .array(let replays)? = again.data?["results"] else { return }
            #expect([0, 1, 5, 6, 8].allSatisfy { replays[$0]["replayed"] == .bool(true) })
            #expect(try await app.send(.get, "/api/v1/billing/account?user_id=b1").data?["balanceFen"] == .int(0))
        }
    }

    @Test("over 1,000 items or over 1 MiB is refused whole; a body without items is INVALID_ARGUMENT")
    func limits() async throws {
        try await TestApp.with { app in
            let many = Array(repeating: item("b3", id: "x"), count: 1_001)
            let tooMany = try await batch(app, many)
            #expect(tooMany.status == 413 && tooMany.errorCode == "PAYLOAD_TOO_LARGE")
            let huge = String(repeating: " ", count: (1 << 20) + 10)
            let tooBig = try await app.internal("deduct/batch", #"{"items": []\#(huge)}"#)
            #expect(tooBig.status == 413)
            let none = try await app.internal("deduct/batch", #"{"things": []}"#)
            #expect(none.status == 400 && none.errorCode == "INVALID_ARGUMENT")
            let empty = try await batch(app, [])
            #expect(empty.status == 200 && empty.data?["results"] == .array([]))
            #expect(try await app.send(.get, "/api/v1/billing/account?user_id=b3").data?["balanceFen"] == .int(0))
        }
    }

    @Test("DeductQuotaBatch over gRPC: results in order, errors per item, too many items RESOURCE_EXHAUSTED")
    func grpc() async throws {
        try await TestApp.with { app in
            try await app.fund("bg", yuan: "0.10")
            try await app.withGRPC { client in
                let gateway = Billing_V1_BillingInternalService.Client(wrapping: client)
                let bearer: Metadata = ["authorization": "Bearer \(TestApp.internalToken)"]
                func item(_ count: Int64, _ id: String) -> Billing_V1_DeductQuotaRequest {
                    .with {
                        $0.userID = "bg"
                        $0.serviceName = "payment"
                        $0.count = count
                        $0.requestID = id
                    }
                }
                let answer = try await gateway.deductQuotaBatch(
                    .with { $0.items = [item(1_001, "g1"), item(1, "g2"), item(0, "g3"), item(1_001, "g1")] },
                    metadata: bearer)
                #expect(answer.results.map(\.index) == [0, 1, 2, 3])
                #expect(answer.results.map(\.success) == [true, false, false, true])
                #expect(answer.results[0].result.amountFen == 10 && answer.results[3].result.replayed)
                #expect(answer.results[1].errorCode == "INSUFFICIENT_BALANCE" && answer.results[2].errorCode == "INVALID_ARGUMENT")
                do {
                    _ = try await gateway.deductQuotaBatch(
                        .with { $0.items = Array(repeating: item(1, "x"), count: 1_001) }, metadata: bearer)
                    Issue.record("1,001 items were accepted")
                } catch let error as RPCError {
                    #expect(error.code == .resourceExhausted)
                }
            }
        }
    }

    @Test("DeductQuotaStream: 500 deductions in, 500 results out keyed by request id, each charged once")
    func stream() async throws {
        try await TestApp.with { app in
            try await app.fund("bs", yuan: "100.00")
            try await app.withGRPC { client in
                let gateway = Billing_V1_BillingInternalService.Client(wrapping: client)
                let ids = (0..<500).map { "s\($0)" } + ["s0"]  // the last one repeats the first
                let results = try await gateway.deductQuotaStream(
                    metadata: ["authorization": "Bearer \(TestApp.internalToken)"],
                    requestProducer: { writer in
                        for id in ids {
                            try await writer.write(
                                .with {
                                    $0.userID = "bs"
                                    $0.serviceName = "payment"
                                    $0.count = 3
                                    $0.requestID = id
                                })
                        }
                        try await writer.write(.with { $0.userID = "bs"; $0.serviceName = "payment"; $0.count = 1 })
                    },
                    onResponse: { response in
                        var collected: [Billing_V1_DeductQuotaStreamResult] = []
                        for try await message in response.messages { collected.append(message) }
                        return collected
                    })
                #expect(results.count == 502)
                #expect(Set(results.filter(\.success).map(\.requestID)) == Set(ids))
                #expect(results.filter { $0.requestID == "s0" }.filter { $0.result.replayed }.count == 1)
                #expect(results.contains { !$0.success && $0.errorCode == "INVALID_ARGUMENT" && $0.requestID.isEmpty })
            }
            // 500 deductions of 3 calls: 1,000 free, then 500 paid at 10 fen.
            #expect(try await app.send(.get, "/api/v1/billing/account?user_id=bs").data?["balanceFen"] == .int(10_000 - 5_000))
        }
    }
}

@testable import BillingApp
import BillingCore
import BillingProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

/// Prices over HTTP and gRPC: what answers show, and the operators' price API with its own
/// tokens and X-Operator (ledger-features.md §4).
@Suite("Prices over HTTP and gRPC: answers and the admin price API", .timeLimit(.minutes(2)))
struct PricingRouteTests {
    static let adminToken = "test-admin-token-0123456789"
    static let environment = [
        "BILLING_AUTH_ADMIN_TOKENS": adminToken,
        "BILLING_CATALOG_SERVICES": "tokens,passport",
        "BILLING_CATALOG_TOKENS_PRICE": "0.003", "BILLING_CATALOG_TOKENS_FREE_CALLS_PER_MONTH": "0",
        "BILLING_CATALOG_PASSPORT_PRICE_FEN": "1", "BILLING_CATALOG_PASSPORT_FREE_CALLS_PER_MONTH": "10000",
    ]
    static let admin = ["Authorization": "Bearer \(adminToken)", "X-Operator": "ops alice"]

    static func rfc3339(_ date: Date) -> String { RFC3339.format(date) }

    @Test("check, deduct, account and records show the unit price; check answers what deduct charges")
    func answersShowPrices() async throws {
        try await TestApp.with(environment: Self.environment) { app in
            try await app.fund("p1", yuan: "1.00")
            let check = try await app.internal("check", #"{"user_id": "p1", "service_name": "tokens", "count": 7}"#)
            #expect(check.data?["costFen"] == .int(2) && check.data?["requiredFen"] == .int(3))
            #expect(check.data?["unitPrice"] == .string("0.003") && check.data?["unitPriceMicroFen"] == .int(300_000))
            let deducted = try await app.deduct("p1", "tokens", count: 7, requestId: "r1")
            #expect(deducted.data?["amountFen"] == .int(2) && deducted.data?["unitPrice"] == .string("0.003"))
            #expect(deducted.data?["priceOverrideId"] == .null)
            // The carry (0.1 fen) makes the next 7 calls cost 2 fen again, then 3 … exactly 2.1 fen per 7.
            let again = try await app.internal("check", #"{"user_id": "p1", "service_name": "tokens", "count": 3}"#)
            #expect(again.data?["costFen"] == .int(1))
            let replay = try await app.deduct("p1", "tokens", count: 7, requestId: "r1")
            #expect(replay.data?["replayed"] == .bool(true) && replay.data?["unitPriceMicroFen"] == .int(300_000))
            let account = try await app.send(.get, "/api/v1/billing/account?user_id=p1")
            guard case .array(let quotas)? = account.data?["quotas"] else {
                Issue.record("no quotas: \(account.text)")
                return
            }
            #expect(quotas.contains { $0["serviceName"] == .string("tokens") && $0["unitPrice"] == .string("0.003") })
            let records = try await app.send(.get, "/api/v1/billing/records?user_id=p1&service_name=tokens")
            guard case .array(let list)? = records.data?["records"] else {
                Issue.record("no records: \(records.text)")
                return
            }
            #expect(list.count == 1 && list[0]["unitPriceMicroFen"] == .int(300_000) && list[0]["priceVersion"] != .int(0))
        }
    }

    @Test("the admin price API: its own token, the operator named, versions and overrides, every refusal")
    func adminRoutes() async throws {
        try await TestApp.with(environment: Self.environment) { app in
            let later = Self.rfc3339(Date().addingTimeInterval(3_600))
            let body = #"{"price": "0.0007", "effective_from": "\#(later)"}"#
            let path = "/admin/v1/billing/services/tokens/prices"
            // The gateway's token is not an operator's; no operator name is refused.
            let gateway = try await app.send(
                .post, path, json: body, headers: ["Authorization": "Bearer \(TestApp.internalToken)", "X-Operator": "x"])
            #expect(gateway.status == 401 && gateway.errorCode == "UNAUTHENTICATED")
            let anonymous = try await app.send(.post, path, json: body, headers: ["Authorization": "Bearer \(Self.adminToken)"])
            #expect(anonymous.status == 400 && anonymous.errorCode == "OPERATOR_REQUIRED")
            for (bad, code) in [
                (#"{"price": "-0.01", "effective_from": "\#(later)"}"#, "INVALID_ARGUMENT"),
                (#"{"price": "0.000000001", "effective_from": "\#(later)"}"#, "INVALID_ARGUMENT"),
                (#"{"price_micro_fen": 1000000000001, "effective_from": "\#(later)"}"#, "AMOUNT_OUT_OF_RANGE"),
                (#"{"price_micro_fen": 99999999999999999999, "effective_from": "\#(later)"}"#, "AMOUNT_MALFORMED"),
                (#"{"price": "0.01", "price_micro_fen": 5, "effective_from": "\#(later)"}"#, "INVALID_ARGUMENT"),
                (#"{"price": "0.01", "effective_from": "\#(Self.rfc3339(Date()))"}"#, "INVALID_ARGUMENT"),
                (#"{"price": "0.01"}"#, "INVALID_ARGUMENT"),
            ] {
                let reply = try await app.send(.post, path, json: bad, headers: Self.admin)
                #expect(reply.status == 400 && reply.errorCode == code, "\(bad) → \(reply.text)")
            }
            let unknown = try await app.send(.post, "/admin/v1/billing/services/maps/prices", json: body, headers: Self.admin)
            #expect(unknown.errorCode == "UNKNOWN_SERVICE")
            // Nothing was added by any refusal.
            let before = try await app.send(.get, path, headers: Self.admin)
            guard case .array(let seeded)? = before.data?["versions"] else {
                Issue.record("no versions: \(before.text)")
                return
            }
            #expect(seeded.count == 1 && seeded[0]["price"] == .string("0.003"))

            let added = try await app.send(.post, path, json: body, headers: Self.admin)
            #expect(added.status == 200 && added.data?["priceMicroFen"] == .int(70_000) && added.data?["replayed"] == .bool(false))
            let replay = try await app.send(.post, path, json: body, headers: Self.admin)
            #expect(replay.data?["replayed"] == .bool(true) && replay.data?["id"] == added.data?["id"])
            let conflict = try await app.send(
                .post, path, json: #"{"price": "0.0008", "effective_from": "\#(later)"}"#, headers: Self.admin)
            #expect(conflict.status == 409 && conflict.errorCode == "IDEMPOTENCY_CONFLICT")

            let users = "/admin/v1/billing/users/p2/prices"
            let from = Self.rfc3339(Date().addingTimeInterval(120))
            let override = try await app.send(
                .post, users, json: #"{"service": "tokens", "price": "0.00001", "from": "\#(from)"}"#, headers: Self.admin)
            #expect(override.status == 200 && override.data?["priceMicroFen"] == .int(1_000) && override.data?["to"] == .null)
            let overlap = try await app.send(
                .post, users, json: #"{"service": "tokens", "price": "0.00002", "from": "\#(later)"}"#, headers: Self.admin)
            #expect(overlap.status == 409 && overlap.errorCode == "PRICE_OVERLAP")
            let listed = try await app.send(.get, users, headers: Self.admin)
            guard case .array(let overrides)? = listed.data?["overrides"] else {
                Issue.record("no overrides: \(listed.text)")
                return
            }
            #expect(overrides.count == 1)
        }
    }

    @Test("the admin service over gRPC: admin token and x-operator, the same rules")
    func adminOverGRPC() async throws {
        try await TestApp.with(environment: Self.environment) { app in
            try await app.withGRPC { client in
                let admin = Billing_V1_BillingAdminService.Client(wrapping: client)
                let request = Billing_V1_AddPriceVersionRequest.with {
                    $0.serviceName = "passport"
                    $0.price = "0.005"
                    $0.freeCallsPerMonth = 500
                    $0.effectiveFrom = Self.rfc3339(Date().addingTimeInterval(7_200))
                }
                let metadata: Metadata = ["authorization": "Bearer \(Self.adminToken)", "x-operator": "ops bob"]
                await #expect(throws: RPCError.self) {
                    _ = try await admin.addPriceVersion(request, metadata: ["authorization": "Bearer \(TestApp.internalToken)", "x-operator": "x"])
                }
                do {
                    _ = try await admin.addPriceVersion(request, metadata: ["authorization": "Bearer \(Self.adminToken)"])
                    Issue.record("no operator was accepted")
                } catch let error as RPCError {
                    #expect(error.code == .invalidArgument && error.message.contains("OPERATOR_REQUIRED"))
                }
                let version = try await admin.addPriceVersion(request, metadata: metadata)
                #expect(version.priceMicroFen == 500_000 && version.freeCallsPerMonth == 500 && !version.replayed)
                let listed = try await admin.listPriceVersions(.with { $0.serviceName = "passport" }, metadata: metadata)
                #expect(listed.versions.count == 2)
                let override = try await admin.addPriceOverride(
                    .with {
                        $0.userID = "g9"
                        $0.serviceName = "passport"
                        $0.priceMicroFen = 1
                        $0.from = Self.rfc3339(Date().addingTimeInterval(600))
                        $0.to = Self.rfc3339(Date().addingTimeInterval(1_200))
                    }, metadata: metadata)
                #expect(override.priceMicroFen == 1 && !override.to.isEmpty)
                let overrides = try await admin.listPriceOverrides(.with { $0.userID = "g9" }, metadata: metadata)
                #expect(overrides.overrides.map(\.id) == [override.id])
            }
        }
    }
}

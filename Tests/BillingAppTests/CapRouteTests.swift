@testable import BillingApp
import BillingCore
import BillingProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

/// Settings and caps over HTTP (ledger-features.md §3).
@Suite("Spend caps over HTTP", .timeLimit(.minutes(2)))
struct CapRouteTests {
    @Test("settings: GET, PUT with absent, null and values, bad values refused; the cap refuses paid calls, never free ones")
    func settingsAndCap() async throws {
        try await TestApp.with { app in
            let empty = try await app.send(.get, "/api/v1/billing/settings?user_id=sc")
            #expect(empty.data?["monthlySpendCapFen"] == .null && empty.data?["capAlertPercents"] == .array([.int(50), .int(80), .int(100)]))
            for (body, code) in [
                (#"{"monthly_spend_cap_fen": -1}"#, "INVALID_ARGUMENT"),
                (#"{"monthly_spend_cap_fen": 10000000000001}"#, "AMOUNT_OUT_OF_RANGE"),
                (#"{"monthly_spend_cap_fen": "10"}"#, "INVALID_ARGUMENT"),
                (#"{"cap_alert_percents": [50, 50]}"#, "INVALID_ARGUMENT"),
                (#"{"cap_alert_percents": [0]}"#, "INVALID_ARGUMENT"),
                (#"{"cap_alert_percents": "50"}"#, "INVALID_ARGUMENT"),
            ] {
                let reply = try await app.send(.put, "/api/v1/billing/settings?user_id=sc", json: body)
                #expect(reply.status == 400 && reply.errorCode == code, "\(body) → \(reply.text)")
            }
            let set = try await app.send(
                .put, "/api/v1/billing/settings?user_id=sc",
                json: #"{"monthly_spend_cap_fen": 20, "low_balance_threshold_fen": 5, "cap_alert_percents": [90]}"#)
            #expect(set.data?["monthlySpendCapFen"] == .int(20) && set.data?["capAlertPercents"] == .array([.int(90)]))
            let kept = try await app.send(.put, "/api/v1/billing/settings?user_id=sc", json: #"{"low_balance_threshold_fen": null}"#)
            #expect(kept.data?["monthlySpendCapFen"] == .int(20) && kept.data?["lowBalanceThresholdFen"] == .null)

            try await app.fund("sc", yuan: "1.00")
            // payment: 1,000 free calls, then 10 fen each; the cap allows two paid calls.
            let free = try await app.deduct("sc", "payment", count: 1_000)
            #expect(free.status == 200)
            #expect(try await app.deduct("sc", "payment", count: 2).status == 200)
            let check = try await app.internal("check", #"{"user_id": "sc", "service_name": "payment", "count": 1}"#)
            #expect(check.data?["allowed"] == .bool(false) && check.data?["reason"] == .string("spend cap reached"))
            #expect(check.data?["capReached"] == .bool(true) && check.data?["capRemainingFen"] == .int(0))
            let refused = try await app.deduct("sc", "payment", count: 1)
            #expect(refused.status == 402 && refused.errorCode == "SPEND_CAP_REACHED", "\(refused.text)")
            let account = try await app.send(.get, "/api/v1/billing/account?user_id=sc")
            #expect(account.data?["balanceFen"] == .int(80) && account.data?["spentFen"] == .int(20))
            #expect(account.data?["capRemainingFen"] == .int(0))
            let metrics = try await app.send(.get, "/metrics")
            #expect(metrics.text.contains(#"billing_events_total{type="spend_cap.reached"} 1"#), "\(metrics.text.prefix(400))")
            #expect(metrics.text.contains(#"billing_events_total{type="recharge.succeeded"} 1"#))
            // Lifting the cap lets the next paid call through.
            _ = try await app.send(.put, "/api/v1/billing/settings?user_id=sc", json: #"{"monthly_spend_cap_fen": null}"#)
            #expect(try await app.deduct("sc", "payment", count: 1).status == 200)
        }
    }

    @Test("settings over gRPC: unset fields stay, remove and reset clear, bad values are INVALID_ARGUMENT")
    func grpcSettings() async throws {
        try await TestApp.with { app in
            try await app.withGRPC { client in
                let console = Billing_V1_BillingService.Client(wrapping: client)
                let set = try await console.updateSettings(
                    .with {
                        $0.userID = "gs"
                        $0.monthlySpendCapFen = 300
                        $0.lowBalanceThresholdFen = 20
                        $0.capAlertPercents = [25, 75]
                        $0.setCapAlertPercents = true
                    })
                #expect(set.monthlySpendCapFen == 300 && set.capAlertPercents == [25, 75])
                let kept = try await console.updateSettings(
                    .with {
                        $0.userID = "gs"
                        $0.removeLowBalanceThreshold = true
                        $0.resetCapAlertPercents = true
                    })
                #expect(kept.monthlySpendCapFen == 300 && !kept.hasLowBalanceThresholdFen && kept.capAlertPercents == [50, 80, 100])
                let read = try await console.getSettings(.with { $0.userID = "gs" })
                #expect(read == kept)
                do {
                    _ = try await console.updateSettings(
                        .with {
                            $0.userID = "gs"
                            $0.capAlertPercents = [0]
                            $0.setCapAlertPercents = true
                        })
                    Issue.record("a 0 % alert was accepted")
                } catch let error as RPCError {
                    #expect(error.code == .invalidArgument)
                }
            }
        }
    }
}

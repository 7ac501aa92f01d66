@testable import BillingApp
import BillingCore
import BillingProto
import Foundation
import GRPCCore
import Testing

@Suite("Daily statistics over HTTP and gRPC", .timeLimit(.minutes(1)))
struct DailyStatsRouteTests {
    @Test("every day of the range listed, usage on the right local day, totals; defaults; bad ranges refused")
    func daily() async throws {
        try await TestApp.with { app in
            try await app.fund("d1", yuan: "10.00")
            let calendar = BillingCalendar.platformDefault
            // Two free calls two days ago (a record written as the lanes would have), and
            // 1,000 free calls and a paid one now.
            let third = calendar.day(containing: Date())
            let first = third.previous.previous
            let twoDaysAgo = calendar.bounds(of: first).lowerBound.addingTimeInterval(3_600)
            try await app.parts.pool.withConnection { connection -> Void in
                try connection.query(
                    """
                    INSERT INTO billing_record (id, user_id, service_name, type, count, amount_fen, request_id, period, created_at)
                    VALUES (nextval('billing_record_id_seq'), 'd1', 'payment', 1, 2, 0, 'old', '2000-01',
                        to_timestamp($1::double precision))
                    """, [String(twoDaysAgo.timeIntervalSince1970)])
            }
            #expect(try await app.deduct("d1", "payment", count: 1_001).status == 200)  // 1,000 free, 1 paid

            let reply = try await app.send(.get, "/api/v1/billing/stats/daily?user_id=d1&from=\(first)&to=\(third.next)")
            #expect(reply.status == 200)
            guard case .array(let days)? = reply.data?["days"] else {
                Issue.record("no days: \(reply.text)")
                return
            }
            #expect(days.map { $0["day"]?.text } == [first, first.next, third, third.next].map(\.description))
            #expect(days.map { $0["totalCount"]?.int64 } == [2, 0, 1_001, 0])
            #expect(days.map { $0["totalCostFen"]?.int64 } == [0, 0, 10, 0])
            #expect(days[0]["services"]?[0]?["serviceName"]?.text == "payment")
            #expect(days[2]["freeCount"]?.int64 == 1_000 && days[2]["paidCount"]?.int64 == 1)
            #expect(reply.data?["totalCount"]?.int64 == 1_003 && reply.data?["totalCostFen"]?.int64 == 10)
            #expect(reply.data?["totalCost"] == .number("0.10"))
            #expect(reply.data?["timeZone"]?.text == "Asia/Shanghai")

            // No range: the 30 days ending today.
            let recent = try await app.send(.get, "/api/v1/billing/stats/daily?user_id=d1")
            guard case .array(let thirty)? = recent.data?["days"] else {
                Issue.record("no days: \(recent.text)")
                return
            }
            #expect(thirty.count == 30 && thirty.last?["day"]?.text == third.description)
            #expect(recent.data?["totalCount"]?.int64 == 1_003)

            for (query, field) in [
                ("from=2026-02-30&to=2026-03-01", "from"), ("from=\(third)&to=\(first)", "to"),
                ("from=2025-01-01&to=2026-06-01", "to"), ("from=yesterday", "from"), ("to=2026-1-1", "to"),
            ] {
                let refused = try await app.send(.get, "/api/v1/billing/stats/daily?user_id=d1&\(query)")
                #expect(refused.status == 400, "\(query)")
                #expect(refused.errorCode == "INVALID_ARGUMENT", "\(query)")
                #expect(refused.json?["error"]?["message"]?.text?.hasPrefix(field) == true, "\(query): \(refused.text)")
            }

            try await app.withGRPC { client in
                let console = Billing_V1_BillingService.Client(wrapping: client)
                let answer = try await console.getDailyStats(
                    .with {
                        $0.userID = "d1"
                        $0.from = first.description
                        $0.to = third.description
                    })
                #expect(answer.days.map(\.day) == [first, first.next, third].map(\.description))
                #expect(answer.days.map(\.totalCount) == [2, 0, 1_001])
                #expect(answer.totalCostFen == 10 && answer.totalCost == "0.10")
                #expect(answer.days[2].services.map(\.serviceName) == ["payment"])
                await #expect(throws: RPCError.self) {
                    _ = try await console.getDailyStats(.with { $0.userID = "d1"; $0.from = "2026-13-01" })
                }
            }
        }
    }
}

import BillingCore
import BillingPostgres
import Foundation
import Testing

@Suite("Records, statistics and the monthly reset in PostgreSQL", .timeLimit(.minutes(1)))
struct LedgerQueryTests {
    @Test("pages: empty, full, last, and cursor pages walk every record once, newest first")
    func paging() async throws {
        try await TestLedger.with { db in
            let empty = try await db.queries.records(of: "u1", filter: RecordFilter(), page: .offset(page: 1, size: 5))
            #expect(empty.records.isEmpty && empty.total == 0 && empty.nextCursor == nil)

            var ids: [Int64] = []
            for _ in 0..<12 { ids += try await db.deduct("u1").recordIds }
            let last = try await db.queries.records(of: "u1", filter: RecordFilter(), page: .offset(page: 3, size: 5))
            #expect(last.records.map(\.id) == Array(ids.reversed().suffix(2)))
            #expect(last.total == 12 && last.nextCursor == nil)

            var walked: [Int64] = []
            var page = try await db.queries.records(of: "u1", filter: RecordFilter(), page: .offset(page: 1, size: 5))
            walked += page.records.map(\.id)
            while let cursor = page.nextCursor {
                // A record inserted meanwhile is newer than every cursor, so it never shifts a page.
                _ = try await db.deduct("u1")
                page = try await db.queries.records(of: "u1", filter: RecordFilter(), page: .after(cursor: cursor, size: 5))
                walked += page.records.map(\.id)
            }
            #expect(walked == ids.reversed())
        }
    }

    @Test("filters by service, type, app and time range")
    func filters() async throws {
        try await TestLedger.with { db in
            try await db.fund("u1", fen: 1_000)
            _ = try await db.deduct("u1", "passport", app: "a1")
            _ = try await db.deduct("u1", "asset", count: 1_001, app: "a2")
            func count(_ filter: RecordFilter) async throws -> Int64? {
                try await db.queries.records(of: "u1", filter: filter, page: .offset(page: 1, size: 100)).total
            }
            #expect(try await count(RecordFilter(serviceName: "asset")) == 2)
            #expect(try await count(RecordFilter(type: .balance)) == 1)
            #expect(try await count(RecordFilter(appId: "a1")) == 1)
            let now = db.clock.now()
            #expect(try await count(RecordFilter(from: now, to: now.addingTimeInterval(1))) == 3)
            #expect(try await count(RecordFilter(from: now.addingTimeInterval(1))) == 0)
        }
    }

    @Test("usage sums free and paid calls and cost per service")
    func usage() async throws {
        try await TestLedger.with { db in
            try await db.fund("u1", fen: 1_000)
            _ = try await db.deduct("u1", "asset", count: 1_003)
            _ = try await db.deduct("u1", "passport", count: 2)
            let usage = try await db.queries.usage(of: "u1", serviceName: nil, in: nil)
            #expect(usage == [
                ServiceUsage(serviceName: "asset", freeCount: 1_000, paidCount: 3, totalCostFen: Fen(15)),
                ServiceUsage(serviceName: "passport", freeCount: 2, paidCount: 0, totalCostFen: .zero),
            ])
            let outside = db.clock.now().addingTimeInterval(-86_400 * 40)..<db.clock.now().addingTimeInterval(-86_400)
            #expect(try await db.queries.usage(of: "u1", serviceName: nil, in: outside).isEmpty)
        }
    }

    /// The port's default: one usage query per day.
    struct PerDayQueries: LedgerQueries {
        let base: PostgresLedgerQueries
        func records(of userId: String, filter: RecordFilter, page: PageRequest) async throws(BillingError)
            -> RecordPage
        { try await base.records(of: userId, filter: filter, page: page) }
        func usage(of userId: String, serviceName: String?, in range: Range<Date>?) async throws(BillingError)
            -> [ServiceUsage]
        { try await base.usage(of: userId, serviceName: serviceName, in: range) }
    }

    @Test("daily usage: local days of the zone, a call a second before midnight and one after, net of refunds")
    func daily() async throws {
        try await TestLedger.with { db in
            let calendar = BillingCalendar.platformDefault
            try await db.fund("u1", fen: 1_000)
            let first = calendar.day(containing: db.clock.now())
            _ = try await db.deduct("u1", "passport", count: 2)
            // One second before local midnight, then one second after.
            db.clock.advance(seconds: calendar.bounds(of: first).upperBound.timeIntervalSince(db.clock.now()) - 1)
            _ = try await db.deduct("u1", "passport")
            db.clock.advance(seconds: 2)
            _ = try await db.deduct("u1", "passport")
            _ = try await db.deduct("u2", "passport", count: 5)
            db.clock.advance(seconds: 2 * 86_400)
            _ = try await db.deduct("u1", "asset", count: 1_003, requestId: "r-asset")
            _ = try await db.lanes.perform(
                .refund(
                    try RefundRequest(
                        refundId: "f1", userId: "u1", target: .deduction(requestId: "r-asset"), count: 1, reason: "test")))

            let range = try DayRange(from: first, to: first.next.next.next.next)
            let days = try await db.queries.dailyUsage(of: "u1", over: range, calendar: calendar)
            #expect(days.count == 3, "days with records only")
            #expect(days[first] == [ServiceUsage(serviceName: "passport", freeCount: 3, paidCount: 0, totalCostFen: .zero)])
            #expect(days[first.next] == [ServiceUsage(serviceName: "passport", freeCount: 1, paidCount: 0, totalCostFen: .zero)])
            #expect(days[first.next.next] == nil)
            #expect(
                days[first.next.next.next] == [
                    ServiceUsage(
                        serviceName: "asset", freeCount: 1_000, paidCount: 2, totalCostFen: Fen(10), refundedCount: 1,
                        refundedFen: Fen(5))
                ])
            // One grouped query answers what a query per day answers.
            let perDay = try await PerDayQueries(base: db.queries).dailyUsage(of: "u1", over: range, calendar: calendar)
            #expect(perDay == days)
        }
    }

    @Test("the monthly reset creates next month's rows for every known user, once, even run concurrently")
    func reset() async throws {
        try await TestLedger.with { db in
            try await db.fund("funded", fen: 10)
            _ = try await db.deduct("quota-only", "passport")
            let next = db.period.next
            let reports = try await withThrowingTaskGroup(of: QuotaResetReport.self) { group in
                for _ in 0..<2 { group.addTask { try await db.reset.createQuotaRows(for: next, catalog: .platformDefault) } }
                return try await group.reduce(into: [QuotaResetReport]()) { $0.append($1) }
            }
            #expect(reports.map(\.rowsCreated).reduce(0, +) == 2 * 3)
            let again = try await db.reset.createQuotaRows(for: next, catalog: .platformDefault)
            #expect(again.rowsCreated == 0 && again.usersCovered == 0)
            let account = try await db.accounts.account(of: "funded", period: next)
            #expect(account.quotas["passport"] == QuotaUsage(total: 10_000, used: 0))
        }
    }
}

import BillingCore
import Foundation
import Testing
import TestSupport

/// Spend caps and alerts as rules, without I/O (ledger-features.md §3). Not wired into the
/// lanes yet (issue 18).
@Suite("Alerts: once per crossing, re-armed only by a credit; cap thresholds once per period")
struct AlertRulesTests {
    static let november = try! QuotaPeriod(text: "2026-11")

    func rules(cap: Int64? = 1_000, threshold: Int64? = 100, percents: [Int] = [50, 80, 100]) throws -> AlertRules {
        AlertRules(
            settings: try UserSettings(
                monthlySpendCapFen: cap, lowBalanceThresholdFen: threshold, capAlertPercents: percents),
            userId: "u")
    }

    @Test("settings: bounds, unique percents, and a PUT where absent keeps and null clears")
    func settings() throws {
        #expect(throws: BillingError.self) { try UserSettings(capAlertPercents: [50, 50]) }
        #expect(throws: BillingError.self) { try UserSettings(capAlertPercents: [0]) }
        #expect(throws: BillingError.self) { try UserSettings(capAlertPercents: [101]) }
        #expect(throws: BillingError.self) { try UserSettings(monthlySpendCapFen: -1) }
        #expect(throws: BillingError.amountOutOfRange(field: "monthly_spend_cap_fen")) {
            try UserSettings(monthlySpendCapFen: 10_000_000_000_001)
        }
        let current = try UserSettings(monthlySpendCapFen: 500, lowBalanceThresholdFen: 20, capAlertPercents: [90, 10])
        #expect(current.capAlertPercents == [10, 90])
        let updated = try SettingsUpdate(monthlySpendCapFen: .clear, capAlertPercents: .set([75])).applied(to: current)
        #expect(updated.monthlySpendCapFen == nil && updated.lowBalanceThresholdFen == Fen(20) && updated.capAlertPercents == [75])
        #expect(try SettingsUpdate(capAlertPercents: .clear).applied(to: updated).capAlertPercents == [50, 80, 100])
    }

    @Test("dip below, recover by a credit, dip again: two alerts; hovering without a credit: one")
    func lowBalance() throws {
        let rules = try rules()
        var state = AlertState()
        var fired: [BillingEventType] = []
        func move(_ from: Int64, _ to: Int64, credit: Bool = false) {
            fired += rules.balanceChanged(&state, from: Fen(from), to: Fen(to), credit: credit).map(\.type)
        }
        move(150, 90)  // below: fires
        move(90, 120)  // a hold released, not a credit: stays disarmed
        move(120, 95)  // hovering: no second alert
        move(95, 200, credit: true)  // a recharge above the threshold re-arms
        move(200, 50)  // fires again
        move(50, 0)  // depleted
        move(0, 0)
        #expect(fired == [.balanceLow, .balanceLow, .balanceDepleted])
        // A refusal for balance while depleted is already reported does not repeat.
        #expect(rules.refusedForBalance(&state, available: .zero).isEmpty)
        move(0, 80, credit: true)  // a credit that stays below the threshold re-arms nothing
        #expect(rules.refusedForBalance(&state, available: Fen(80)).isEmpty)
    }

    @Test("usage crossing 50/80/100 % fires each once per period; a new period starts over; the cap decides room")
    func capThresholds() throws {
        let rules = try rules()
        var state = AlertState()
        var fired: [Int64] = []
        func spend(_ from: Int64, _ to: Int64, in period: QuotaPeriod = AlertRulesTests.november) {
            for event in rules.spendChanged(&state, period: period, from: Fen(from), to: Fen(to)) {
                if case .int(let percent)? = event.data["percent"] { fired.append(percent) }
            }
        }
        spend(0, 400)
        spend(400, 500)  // 50 %
        spend(500, 790)
        spend(790, 1_000)  // 80 % and 100 % at once
        spend(1_000, 1_000)
        #expect(fired == [50, 80, 100])
        #expect(rules.capAllows(spent: Fen(999), adding: Fen(1)) && !rules.capAllows(spent: Fen(999), adding: Fen(2)))
        #expect(!rules.capAllows(spent: Fen(Int64.max), adding: Fen(1)), "no overflow")
        #expect(rules.refusedByCap(&state, period: Self.november, spent: Fen(1_000), required: Fen(5)).count == 1)
        #expect(rules.refusedByCap(&state, period: Self.november, spent: Fen(1_000), required: Fen(5)).isEmpty)
        spend(0, 600, in: Self.november.next)
        #expect(fired == [50, 80, 100, 50])
        // A spend large enough to overflow × 100 is past every threshold, without a trap.
        var fresh = AlertState()
        #expect(rules.spendChanged(&fresh, period: Self.november, from: .zero, to: Fen(Int64.max)).count == 3)
    }

    @Test("random walks: each threshold at most once per period, low-balance alerts never twice without a credit between")
    func randomWalks() throws {
        var random = FuzzRandom()
        for _ in 0..<FuzzRandom.cases(500) {
            let rules = try rules(cap: Int64.random(in: 1...5_000, using: &random), threshold: Int64.random(in: 0...300, using: &random))
            var state = AlertState()
            var available = Int64.random(in: 0...1_000, using: &random)
            var spent: Int64 = 0
            var lowSinceCredit = 0
            var percents: [Int64] = []
            for _ in 0..<200 {
                let credit = random.chance(0.2)
                let next = credit ? available + Int64.random(in: 1...400, using: &random) : max(0, available - Int64.random(in: 0...150, using: &random))
                let events = rules.balanceChanged(&state, from: Fen(available), to: Fen(next), credit: credit)
                if credit, next > (rules.settings.lowBalanceThresholdFen?.value ?? 0) { lowSinceCredit = 0 }
                lowSinceCredit += events.filter { $0.type == .balanceLow }.count
                #expect(lowSinceCredit <= 1, "seed \(random.seed)")
                if !credit {
                    let before = spent
                    spent += available - next
                    for event in rules.spendChanged(&state, period: Self.november, from: Fen(before), to: Fen(spent)) {
                        if case .int(let percent)? = event.data["percent"] { percents.append(percent) }
                    }
                }
                available = next
            }
            #expect(Set(percents).count == percents.count, "seed \(random.seed)")
        }
    }
}

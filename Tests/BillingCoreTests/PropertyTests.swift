import BillingCore
import Foundation
import PropertyBased
import Testing

/// Random workloads over a few users and all services, so collisions (same user, same
/// request id, exhausted quotas, empty balances) are frequent.
enum Workload {
    static let users = ["a", "b", "c"]
    static let services = ServiceCatalog.platformDefault.entries.map(\.name)
    static let month = period("2026-11")

    static let requests = zip(
        Gen.int(in: 0...2), Gen.int(in: 0...2), Gen<Int64>.value(in: 1...1_500), Gen.int(in: -3...4)
    ).map { user, service, count, requestId in
        request(users[user], services[service], count: count, requestId: requestId >= 0 ? "r\(requestId)" : nil)
    }.array(of: 1...40)

    /// Balances, and how much of each quota is already used (as a share of the total).
    static let snapshots = zip(
        Gen<Int64>.value(in: 0...20_000).array(of: 3), Gen.int(in: 0...100).array(of: 9)
    ).map { balances, usedPercent in
        var snapshot = LedgerSnapshot()
        for (index, user) in users.enumerated() {
            snapshot.balances[user] = Fen(balances[index])
            for (serviceIndex, service) in services.enumerated() {
                let total = (try? ServiceCatalog.platformDefault.entry(named: service).freeCallsPerMonth) ?? 0
                let used = total * Int64(usedPercent[index * 3 + serviceIndex]) / 100
                snapshot.quotas[QuotaKey(userId: user, serviceName: service, period: month)] = QuotaUsage(
                    total: total, used: used)
            }
        }
        return snapshot
    }

    static func apply(_ requests: [DeductionRequest], to snapshot: LedgerSnapshot, firstId: Int64 = 1) -> BatchResult {
        var nextId = firstId
        return DeductionBatch(catalog: .platformDefault, period: month, appliedAt: Date(timeIntervalSince1970: 0))
            .apply(requests, to: snapshot) {
                defer { nextId += 1 }
                return nextId
            }
    }

    static func totalBalance(_ snapshot: LedgerSnapshot) -> Int64 {
        users.reduce(0) { $0 + snapshot.balance(of: $1).value }
    }
}

@Suite("Invariants of the deduction algorithm, over random workloads")
struct PropertyTests {
    @Test("balances never go negative and 0 ≤ used ≤ total")
    func boundsHold() async {
        await propertyCheck(count: 300, input: Workload.snapshots, Workload.requests) { snapshot, requests in
            let result = Workload.apply(requests, to: snapshot)
            for user in Workload.users { #expect(result.snapshot.balance(of: user) >= .zero) }
            for usage in result.snapshot.quotas.values { #expect(usage.used >= 0 && usage.used <= usage.total) }
        }
    }

    @Test("the records' amounts sum to the charged cost, which is exactly what left the balances")
    func recordsSumToCost() async {
        await propertyCheck(count: 300, input: Workload.snapshots, Workload.requests) { snapshot, requests in
            let result = Workload.apply(requests, to: snapshot)
            let recorded = result.records.reduce(Int64(0)) { $0 + $1.amountFen.value }
            let charged = result.outcomes.reduce(Int64(0)) { sum, outcome in
                guard case .success(let receipt) = outcome, !receipt.replayed else { return sum }
                return sum + receipt.costFen.value
            }
            #expect(recorded == charged)
            #expect(Workload.totalBalance(snapshot) - Workload.totalBalance(result.snapshot) == charged)
            let freeCalls = result.records.filter { $0.type == .free }.reduce(Int64(0)) { $0 + $1.count }
            let usedBefore = snapshot.quotas.values.reduce(Int64(0)) { $0 + $1.used }
            let usedAfter = result.snapshot.quotas.values.reduce(Int64(0)) { $0 + $1.used }
            #expect(usedAfter - usedBefore == freeCalls)
        }
    }

    @Test("a batch equals the same requests applied one by one")
    func batchEqualsSequence() async {
        await propertyCheck(count: 300, input: Workload.snapshots, Workload.requests) { snapshot, requests in
            let batched = Workload.apply(requests, to: snapshot)
            var state = snapshot
            var nextId: Int64 = 1
            var outcomes: [Result<DeductionReceipt, BillingError>] = []
            for request in requests {
                let single = Workload.apply([request], to: state, firstId: nextId)
                nextId += Int64(single.records.count)
                state = single.snapshot
                outcomes.append(single.outcomes[0])
            }
            #expect(batched.snapshot == state)
            #expect(batched.outcomes.map { try? $0.get() } == outcomes.map { try? $0.get() })
            #expect(batched.outcomes.map { $0.failureCode } == outcomes.map { $0.failureCode })
        }
    }

    @Test("check agrees with what the deduction then does")
    func checkAgreesWithDeduct() async {
        await propertyCheck(count: 300, input: Workload.snapshots, Workload.requests) { snapshot, requests in
            var state = snapshot
            for request in requests where request.requestId == nil {
                let entry = (try? ServiceCatalog.platformDefault.entry(named: request.serviceName))
                guard let entry else { continue }
                let key = QuotaKey(userId: request.userId, serviceName: request.serviceName, period: Workload.month)
                let check = try? CheckAnswer(count: request.count, price: AppliedPrice(price: entry.price, versionId: 0), quota: state.quota(key, entry: entry),
                    balance: state.balance(of: request.userId))
                let result = Workload.apply([request], to: state)
                let receipt = try? result.outcomes[0].get()
                #expect(check?.allowed == (receipt != nil))
                if let receipt, let check {
                    #expect(receipt.costFen == check.costFen && receipt.mode == check.mode)
                }
                state = result.snapshot
            }
        }
    }

    @Test("replaying an applied batch changes nothing")
    func replayChangesNothing() async {
        await propertyCheck(count: 300, input: Workload.snapshots, Workload.requests) { snapshot, requests in
            let keyed = requests.filter { $0.requestId != nil }
            let first = Workload.apply(keyed, to: snapshot)
            let second = Workload.apply(keyed, to: first.snapshot, firstId: 10_000)
            #expect(second.snapshot == first.snapshot)
            #expect(second.records.isEmpty)
            for (original, retried) in zip(first.outcomes, second.outcomes) {
                if case .success(let receipt) = retried {
                    #expect(receipt.replayed)
                    #expect(receipt.recordIds == (try? original.get())?.recordIds)
                }
            }
        }
    }

    @Test("yuan text round-trips through fen exactly")
    func yuanRoundTrip() async {
        await propertyCheck(count: 500, input: Gen<Int64>.value(in: .min ... .max)) { fen in
            #expect((try? Fen(yuanText: Fen(fen).yuanText)) == Fen(fen))
        }
    }
}

extension Result where Failure == BillingError {
    var failureCode: String? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}

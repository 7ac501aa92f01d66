import BillingCore
import BillingPostgres
import Foundation

/// The JSON shapes of api.md, built from domain values. Money appears twice: yuan printed
/// with exactly two decimals and integer fen.
enum Views {
    static func money(_ name: String, _ fen: Fen) -> [(String, JSONValue)] {
        [(name, .number(fen.yuanText)), ("\(name)Fen", .int(fen.value))]
    }

    /// A unit price: yuan text (a string, so 8 decimals survive any JSON client) and µfen,
    /// with the catalog version and the override that set it.
    static func price(_ applied: AppliedPrice?) -> [(String, JSONValue)] {
        guard let applied else { return [] }
        return [
            ("unitPrice", .string(applied.price.yuanText)), ("unitPriceMicroFen", .int(applied.price.microFen)),
            ("priceVersion", .int(applied.versionId)), ("priceOverrideId", applied.overrideId.map { .int($0) } ?? .null),
        ]
    }

    static func priceVersion(_ version: PriceVersion, replayed: Bool? = nil) -> JSONValue {
        .object(
            [
                ("id", .int(version.id)), ("serviceName", .string(version.serviceName)),
                ("effectiveFrom", timestamp(version.effectiveFrom)), ("price", .string(version.price.yuanText)),
                ("priceMicroFen", .int(version.price.microFen)), ("freeCallsPerMonth", .int(version.freeCallsPerMonth)),
            ] + (replayed.map { [("replayed", .bool($0))] } ?? []))
    }

    static func priceOverride(_ override: PriceOverride, replayed: Bool? = nil) -> JSONValue {
        .object(
            [
                ("id", .int(override.id)), ("userId", .string(override.userId)),
                ("serviceName", .string(override.serviceName)), ("price", .string(override.price.yuanText)),
                ("priceMicroFen", .int(override.price.microFen)), ("from", timestamp(override.from)),
                ("to", timestamp(override.to)),
            ] + (replayed.map { [("replayed", .bool($0))] } ?? []))
    }

    static func timestamp(_ date: Date?) -> JSONValue {
        guard let date else { return .null }
        return .string(RFC3339.format(date))
    }

    static func account(_ account: AccountView) -> JSONValue {
        .object(
            [("userId", .string(account.userId))] + money("balance", account.balanceFen) + money("held", account.heldFen)
                + money("available", account.availableFen) + [
                    ("spentFen", .int(account.spentFen.value)),
                    ("capRemainingFen", account.capRemainingFen.map { .int($0.value) } ?? .null),
                ] + [
                ("currency", .string(account.currency)),
                (
                    "quotas",
                    .array(
                        account.quotas.map { quota in
                            .object([
                                ("serviceName", .string(quota.serviceName)),
                                ("totalQuota", .int(quota.usage.total)),
                                ("usedQuota", .int(quota.usage.used)),
                                ("remainingQuota", .int(quota.usage.remaining)),
                                ("heldQuota", .int(quota.usage.held)),
                                ("freeAvailable", .int(quota.usage.remaining)),
                                ("resetMonth", .string(quota.period.text)),
                            ] + price(quota.price))
                        })
                ),
            ])
    }

    static func check(_ answer: CheckAnswer) -> JSONValue {
        .object(
            [
                ("allowed", .bool(answer.allowed)),
                ("reason", .string(answer.reason)),
                ("mode", .string(answer.mode.rawValue)),
                ("freeRemaining", .int(answer.freeRemaining)),
                ("freeAvailable", .int(answer.freeRemaining)),
            ] + money("balance", answer.balanceFen) + [
                ("availableFen", .int(answer.availableFen.value)),
                ("capReached", .bool(answer.capReached)),
                ("capRemainingFen", answer.capRemainingFen.map { .int($0.value) } ?? .null),
                ("costFen", .int(answer.costFen.value)), ("requiredFen", .int(answer.requiredFen.value)),
            ] + price(answer.price))
    }

    static func deduction(_ receipt: DeductionReceipt) -> JSONValue {
        var members = JSONMembers(capacity: 20)
        deduction(receipt, index: nil, into: &members)
        return .object(members.members)
    }

    /// A deduction's fields, after its index in a batch if it has one — the shape of every
    /// deduction answer, whether built as a tree or written as bytes (`deductionBytes`).
    static func deduction<Sink: JSONSink>(_ receipt: DeductionReceipt, index: Int?, into sink: inout Sink) {
        if let index { sink.member("index", int: Int64(index)) }
        sink.member("success", .bool(true))
        if let first = receipt.recordIds.first {
            sink.member("recordId", int: first)
        } else {
            sink.member("recordId", .null)
        }
        sink.member("recordIds", .array(receipt.recordIds.map { .int($0) }))
        sink.member("freeCount", int: receipt.freeCount)
        sink.member("paidCount", int: receipt.paidCount)
        sink.member("mode", .string(receipt.mode.rawValue))
        sink.member("amount", .number(receipt.costFen.yuanText))
        sink.member("amountFen", int: receipt.costFen.value)
        sink.member("balanceFen", int: receipt.balanceAfterFen.value)
        sink.member("balance", .number(receipt.balanceAfterFen.yuanText))
        sink.member("freeRemaining", int: receipt.freeRemainingAfter)
        sink.member("freeAvailable", int: receipt.freeRemainingAfter)
        sink.member("replayed", .bool(receipt.replayed))
        if let available = receipt.availableAfterFen { sink.member("availableFen", int: available.value) }
        for (name, value) in price(receipt.price) { sink.member(name, value) }
    }

    /// `APIResponse.okEnvelope(deduction(receipt))`, written at once.
    static func deductionBytes(_ receipt: DeductionReceipt) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(512)
        output.append(contentsOf: #"{"success":true,"data":"#.utf8)
        JSONObjectBytes.object(into: &output) { deduction(receipt, index: nil, into: &$0) }
        output.append(UInt8(ascii: "}"))
        return output
    }

    /// `APIResponse.okEnvelope` of a batch's answer (`{"results": [batchItem…]}`), written at once.
    static func batchBytes(_ results: [Result<DeductionReceipt, BillingError>]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(64 + results.count * 512)
        output.append(contentsOf: #"{"success":true,"data":{"results":["#.utf8)
        for (index, result) in results.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            if case .success(let receipt) = result {
                JSONObjectBytes.object(into: &output) { deduction(receipt, index: index, into: &$0) }
            } else {
                batchItem(index, result).write(to: &output)
            }
        }
        output.append(contentsOf: "]}}".utf8)
        return output
    }

    /// A hold as it stands.
    static func holdFields(_ hold: Hold) -> [(String, JSONValue)] {
        [
            ("holdId", .string(hold.holdId)), ("status", .string(hold.status.rawValue)),
            ("serviceName", .string(hold.serviceName)), ("appId", .optional(hold.appId)), ("count", .int(hold.count)),
            ("freeHeld", .int(hold.freeHeld)), ("paidHeld", .int(hold.paidHeld)),
        ] + money("held", hold.heldFen) + [
            ("period", .string(hold.period.text)), ("createdAt", timestamp(hold.createdAt)),
            ("expiresAt", timestamp(hold.expiresAt)), ("resolvedAt", timestamp(hold.resolvedAt)),
            ("settledCount", hold.settledCount.map { .int($0) } ?? .null),
        ] + price(hold.price)
    }

    static func hold(_ hold: Hold) -> JSONValue { .object(holdFields(hold)) }

    static func held(_ answer: HoldAnswer) -> JSONValue {
        .object(
            holdFields(answer.hold) + [
                ("balanceFen", .int(answer.balanceFen.value)), ("availableFen", .int(answer.availableFen.value)),
                ("replayed", .bool(answer.replayed)),
            ])
    }

    /// A settle's answer: the deduct fields, plus the hold id and its status.
    static func settled(_ receipt: DeductionReceipt, _ hold: Hold) -> JSONValue {
        guard case .object(let fields) = deduction(receipt) else { return deduction(receipt) }
        return .object(fields + [("holdId", .string(hold.holdId)), ("status", .string(hold.status.rawValue))])
    }

    static func rechargeStarted(_ order: RechargeOrder) -> JSONValue {
        .object(
            [("orderId", .string(order.id)), ("paymentUrl", .optional(order.payURL))]
                + money("amount", order.amountFen) + [("status", .string(order.status.rawValue))])
    }

    static func order(_ order: RechargeOrder) -> JSONValue {
        .object(
            [("orderId", .string(order.id)), ("status", .string(order.status.rawValue))]
                + money("amount", order.amountFen) + [
                    ("currency", .string(order.currency)),
                    ("paymentMethod", .string(order.method.rawValue)),
                    ("paymentId", .optional(order.paymentId)),
                    ("paymentUrl", .optional(order.payURL)),
                    ("failureReason", .optional(order.failureReason)),
                    ("createdAt", timestamp(order.createdAt)),
                    ("paidAt", timestamp(order.paidAt)),
                ])
    }

    static func record(_ record: LedgerRecord) -> JSONValue {
        .object(
            [
                ("id", .int(record.id)),
                ("serviceName", .string(record.serviceName)),
                ("appId", .optional(record.appId)),
                ("type", .int(record.type.rawValue)),
                ("typeName", .string(record.type.name)),
            ] + money("amount", record.amountFen) + [
                ("count", .int(record.count)),
                ("requestId", .optional(record.requestId)),
                ("period", .string(record.period.text)),
                ("createdAt", timestamp(record.createdAt)),
                ("holdId", .optional(record.holdId)),
            ] + (record.refersTo.isEmpty ? [] : [("refersTo", .array(record.refersTo.map { .int($0) }))])
                + price(record.price))
    }

    static func records(_ page: RecordPage) -> JSONValue {
        .object([
            ("records", .array(page.records.map(record))),
            ("total", page.total.map { .int($0) } ?? .null),
            ("page", page.page.map { .int($0) } ?? .null),
            ("pageSize", .int(page.pageSize)),
            ("nextCursor", .optional(page.nextCursor?.text)),
        ])
    }

    static func usage(_ usage: ServiceUsage, named name: String? = nil) -> [(String, JSONValue)] {
        [
            ("totalCount", .int(usage.totalCount)),
            ("freeCount", .int(usage.freeCount)),
            ("paidCount", .int(usage.paidCount)),
        ] + money("totalCost", usage.totalCostFen) + [("refundedCount", .int(usage.refundedCount))]
            + money("refunded", usage.refundedFen)
    }

    static func stats(_ stats: UsageStats) -> JSONValue {
        .object(
            [
                ("userId", .string(stats.userId)),
                ("serviceName", .optional(stats.serviceName)),
                ("period", .string(stats.window.rawValue)),
            ] + usage(stats.usage))
    }

    static func daily(_ stats: DailyStats) -> JSONValue {
        .object(
            [
                ("userId", .string(stats.userId)), ("timeZone", .string(stats.timeZone)),
                ("from", .string(stats.days.first?.day.description ?? "")),
                ("to", .string(stats.days.last?.day.description ?? "")),
            ] + usage(stats.total) + [
                (
                    "days",
                    .array(
                        stats.days.map { day in
                            .object(
                                [("day", .string(day.day.description))] + usage(day.total) + [
                                    (
                                        "services",
                                        .array(day.services.map { .object([("serviceName", .string($0.serviceName))] + usage($0)) })
                                    )
                                ])
                        })
                )
            ])
    }

    static func summary(_ summary: UsageSummary) -> JSONValue {
        .object(
            [("userId", .string(summary.userId)), ("totalCount", .int(summary.total.totalCount))]
                + money("totalCost", summary.total.totalCostFen) + [
                    (
                        "services",
                        .array(summary.services.map { .object([("serviceName", .string($0.serviceName))] + usage($0)) })
                    )
                ])
    }

    static func refunded(_ receipt: RefundReceipt) -> JSONValue {
        .object(
            [
                ("refundId", .string(receipt.refundId)),
                (receipt.target.kind == "hold" ? "holdId" : "requestId", .string(receipt.target.id)),
                ("count", .int(receipt.count)), ("paidRefunded", .int(receipt.paidRefunded)),
                ("freeRefunded", .int(receipt.freeRefunded)), ("freeReturned", .int(receipt.freeReturned)),
            ] + money("refunded", receipt.fenReturned) + [
                ("balanceFen", .int(receipt.balanceAfterFen.value)),
                ("recordIds", .array(receipt.recordIds.map { .int($0) })), ("replayed", .bool(receipt.replayed)),
            ])
    }

    static func adjusted(_ receipt: AdjustmentReceipt) -> JSONValue {
        .object(
            [("adjustmentId", .string(receipt.adjustmentId)), ("amountFen", .int(receipt.amountFen.value))] + [
                ("balanceFen", .int(receipt.balanceAfterFen.value)),
                ("availableFen", .int(receipt.availableAfterFen.value)), ("recordId", .int(receipt.recordId)),
                ("replayed", .bool(receipt.replayed)),
            ])
    }

    static func audit(_ entry: AuditEntry) -> JSONValue {
        .object([
            ("id", .int(entry.id)), ("at", timestamp(entry.at)), ("operator", .optional(entry.operatorName)),
            ("action", .string(entry.action)), ("target", .optional(entry.target)),
            ("parameters", .string(entry.parameters)), ("status", .int(Int64(entry.status))),
            ("code", .optional(entry.code)),
        ])
    }

    static func settings(_ settings: UserSettings) -> JSONValue {
        .object([
            ("monthlySpendCapFen", settings.monthlySpendCapFen.map { .int($0.value) } ?? .null),
            ("lowBalanceThresholdFen", settings.lowBalanceThresholdFen.map { .int($0.value) } ?? .null),
            ("capAlertPercents", .array(settings.capAlertPercents.map { .int($0) })),
        ])
    }

    /// An endpoint without its secret.
    static func endpoint(_ endpoint: WebhookEndpoint) -> JSONValue {
        .object([
            ("id", .int(endpoint.id)), ("url", .string(endpoint.url)),
            ("events", .array(endpoint.events.map { .string($0.rawValue) })), ("createdAt", timestamp(endpoint.createdAt)),
        ])
    }

    static func delivery(_ delivery: PostgresWebhooks.Delivery) -> JSONValue {
        .object([
            ("id", .int(delivery.id)), ("eventId", .string(delivery.eventId)), ("type", .string(delivery.eventType)),
            ("endpointId", .int(delivery.endpointId)), ("status", .string(delivery.status)),
            ("attempts", .int(delivery.attempts)), ("lastStatus", delivery.lastStatus.map { .int($0) } ?? .null),
            ("lastError", .optional(delivery.lastError)), ("nextAttemptAt", timestamp(delivery.nextAttemptAt)),
        ])
    }

    /// One item of a batch's answer: its index, then the deduct fields or its error.
    static func batchItem(_ index: Int, _ result: Result<DeductionReceipt, BillingError>) -> JSONValue {
        switch result {
        case .success(let receipt):
            var members = JSONMembers(capacity: 21)
            deduction(receipt, index: index, into: &members)
            return .object(members.members)
        case .failure(let error):
            return .object([
                ("index", .int(index)), ("success", .bool(false)),
                ("error", .object([("code", .string(error.code)), ("message", .string(error.message))])),
            ])
        }
    }
}

import Foundation

/// One user's balance and free quotas of one period, as read for a check or the console.
/// Quotas missing from `quotas` have no row yet: nothing of their allowance is used.
public struct AccountState: Sendable, Hashable, Codable {
    public let balanceFen: Fen
    public let quotas: [String: QuotaUsage]
    /// The balance row's version, bumped by every change to the account (each applied
    /// deduction and each credit): a cache keeps the highest version it has seen.
    public let version: Int64
    /// µfen carried per service (missing: none).
    public let carries: [String: Int64]
    /// The user's price overrides that have not ended.
    public let overrides: [PriceOverride]
    /// Fen kept by pending holds.
    public let heldFen: Fen
    /// This period's spend and the user's monthly cap (nil: none).
    public let spentFen: Fen
    public let spendCapFen: Fen?

    /// `version` orders cached copies: a higher one is newer.
    public init(
        balanceFen: Fen, quotas: [String: QuotaUsage], version: Int64 = 0, carries: [String: Int64] = [:],
        overrides: [PriceOverride] = [], heldFen: Fen = .zero, spentFen: Fen = .zero, spendCapFen: Fen? = nil
    ) {
        self.heldFen = heldFen
        self.spentFen = spentFen
        self.spendCapFen = spendCapFen
        self.balanceFen = balanceFen
        self.quotas = quotas
        self.version = version
        self.carries = carries
        self.overrides = overrides
    }

    /// The service's counter, or its fresh allowance when the period has no row yet.
    public func quota(for entry: CatalogEntry) -> QuotaUsage {
        quotas[entry.name] ?? .unused(entry)
    }

    /// The service's counter, or a fresh allowance of `freeCalls` when the period has no row yet.
    public func quota(of serviceName: String, freeCalls: Int64) -> QuotaUsage {
        quotas[serviceName] ?? .unused(freeCalls)
    }

    /// The balance less what pending holds keep.
    public var availableFen: Fen { Fen(balanceFen.value - heldFen.value) }

    /// The service's carry in µfen.
    public func carry(of serviceName: String) -> Int64 { carries[serviceName] ?? 0 }
}

/// Which records a page holds; nil fields match everything. `to` is exclusive.
public struct RecordFilter: Sendable, Hashable {
    public var serviceName: String?
    public var type: RecordType?
    public var appId: String?
    /// Inclusive lower and exclusive upper bound on `createdAt`.
    public var from: Date?
    public var to: Date?

    /// Refuses `from` after `to`.
    public init(
        serviceName: String? = nil, type: RecordType? = nil, appId: String? = nil, from: Date? = nil, to: Date? = nil
    ) throws(BillingError) {
        if let from, let to, from > to {
            throw .invalidArgument(field: "from", reason: "must not be after 'to'")
        }
        self.serviceName = serviceName
        self.type = type
        self.appId = appId
        self.from = from
        self.to = to
    }
}

/// Offset pages (page numbers from 1, with a total) or keyset pages after a cursor.
public enum PageRequest: Sendable, Hashable {
    case offset(page: Int, size: Int)
    case after(cursor: RecordCursor, size: Int)

    /// Validates paging input: `pageSize` 1 … `Limits.maxPageSize`, `page` 1 … 1,000,000, or a
    /// cursor from an earlier page (which wins over `page`).
    public static func make(page: Int?, pageSize: Int?, cursor: String?) throws(BillingError) -> PageRequest {
        let size = pageSize ?? Limits.defaultPageSize
        guard (1...Limits.maxPageSize).contains(size) else {
            throw .invalidArgument(field: "page_size", reason: "must be between 1 and \(Limits.maxPageSize)")
        }
        if let cursor {
            return .after(cursor: try RecordCursor(text: cursor), size: size)
        }
        let page = page ?? 1
        // Deep offsets are what the cursor is for; the bound keeps OFFSET arithmetic safe.
        guard (1...1_000_000).contains(page) else {
            throw .invalidArgument(field: "page", reason: "must be between 1 and 1000000")
        }
        return .offset(page: page, size: size)
    }

    public var size: Int {
        switch self {
        case .offset(_, let size), .after(_, let size): size
        }
    }
}

/// Where a keyset page ends: records are listed newest first by id, so the next page
/// holds the ids below this one. Opaque to clients.
public struct RecordCursor: Sendable, Hashable {
    public let lastId: Int64

    public init(lastId: Int64) { self.lastId = lastId }

    /// Parses a cursor this service handed out (`r<id>`); anything else is INVALID_ARGUMENT,
    /// including other spellings of the same id (`r+5`, `r05`): a cursor is compared and
    /// logged as text, so one id has one spelling.
    public init(text: String) throws(BillingError) {
        guard text.hasPrefix("r"), let id = Int64(text.dropFirst()), id > 0, "r\(id)" == text else {
            throw .invalidArgument(field: "cursor", reason: "not a cursor returned by this service")
        }
        lastId = id
    }

    public var text: String { "r\(lastId)" }
}

/// One page of records and where the next one starts.
public struct RecordPage: Sendable, Hashable {
    public let records: [LedgerRecord]
    /// Matching records in all pages; only counted for offset pages.
    public let total: Int64?
    public let page: Int?
    public let pageSize: Int
    public let nextCursor: RecordCursor?

    public init(records: [LedgerRecord], total: Int64?, page: Int?, pageSize: Int, nextCursor: RecordCursor?) {
        self.records = records
        self.total = total
        self.page = page
        self.pageSize = pageSize
        self.nextCursor = nextCursor
    }
}

/// Calls and cost of one service over a time range.
public struct ServiceUsage: Sendable, Hashable {
    public let serviceName: String
    /// Net of refunds: free and paid calls, and what they cost.
    public let freeCount: Int64
    public let paidCount: Int64
    public let totalCostFen: Fen
    /// Units and fen given back by refunds.
    public let refundedCount: Int64
    public let refundedFen: Fen

    public init(
        serviceName: String, freeCount: Int64, paidCount: Int64, totalCostFen: Fen, refundedCount: Int64 = 0,
        refundedFen: Fen = .zero
    ) {
        self.serviceName = serviceName
        self.freeCount = freeCount
        self.paidCount = paidCount
        self.totalCostFen = totalCostFen
        self.refundedCount = refundedCount
        self.refundedFen = refundedFen
    }

    public var totalCount: Int64 { freeCount + paidCount }

    /// No usage of `serviceName`.
    public static func zero(_ serviceName: String) -> ServiceUsage {
        ServiceUsage(serviceName: serviceName, freeCount: 0, paidCount: 0, totalCostFen: .zero)
    }

    /// Sums usage of several services; saturates rather than wraps (it is a display figure).
    public static func total(of usages: [ServiceUsage], name: String) -> ServiceUsage {
        usages.reduce(.zero(name)) { sum, usage in
            ServiceUsage(
                serviceName: name,
                freeCount: saturatingSum(sum.freeCount, usage.freeCount),
                paidCount: saturatingSum(sum.paidCount, usage.paidCount),
                totalCostFen: Fen(saturatingSum(sum.totalCostFen.value, usage.totalCostFen.value)),
                refundedCount: saturatingSum(sum.refundedCount, usage.refundedCount),
                refundedFen: Fen(saturatingSum(sum.refundedFen.value, usage.refundedFen.value)))
        }
    }

    private static func saturatingSum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }
}

/// What the monthly reset did.
public struct QuotaResetReport: Sendable, Hashable {
    public let period: QuotaPeriod
    public let rowsCreated: Int64
    public let usersCovered: Int64

    public init(period: QuotaPeriod, rowsCreated: Int64, usersCovered: Int64) {
        self.period = period
        self.rowsCreated = rowsCreated
        self.usersCovered = usersCovered
    }
}

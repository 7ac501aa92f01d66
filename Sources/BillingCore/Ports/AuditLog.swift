import Foundation

/// One admin call as the audit log keeps it: who, what, on whom, with which parameters, and
/// how it ended. Written for refused calls too.
public struct AuditEntry: Sendable, Hashable {
    public let id: Int64
    public let at: Date
    /// As the caller named themselves (X-Operator); nil when missing.
    public let operatorName: String?
    /// "POST /admin/v1/billing/adjustments".
    public let action: String
    /// The user or service the call is about, when it names one.
    public let target: String?
    /// The query and body as sent (bounded).
    public let parameters: String
    public let status: Int
    /// The error code of a refused call.
    public let code: String?

    public init(
        id: Int64 = 0, at: Date = Date(), operatorName: String?, action: String, target: String?, parameters: String,
        status: Int, code: String?
    ) {
        self.id = id
        self.at = at
        self.operatorName = operatorName
        self.action = action
        self.target = target
        self.parameters = parameters
        self.status = status
        self.code = code
    }
}

/// The append-only log of admin calls.
public protocol AuditLog: Sendable {
    func append(_ entry: AuditEntry) async throws(BillingError)
    /// Newest first; `before` an id for the next page.
    func entries(before: Int64?, limit: Int) async throws(BillingError) -> [AuditEntry]
}

/// A best-effort copy of account state. A miss or a failure is `nil`; writes never fail
/// the caller. Implementations keep an older value from overwriting a newer one.
public protocol AccountCache: Sendable {
    func account(of userId: String, period: QuotaPeriod) async -> AccountState?
    func store(_ state: AccountState, of userId: String, period: QuotaPeriod) async
}

import BillingCore

/// The one mapping from storage failures to the domain's error.
enum DatabaseErrors {
    static func map(_ error: any Error) -> BillingError {
        switch error {
        case let error as BillingError: error
        case let error as PostgresError where error.isConnectionFailure: .unavailable("database unavailable")
        case let error as PostgresError where error.isRetryable: .unavailable("database busy, retry")
        default: .internalFailure(String(reflecting: error))
        }
    }
}

import BillingCore

/// `user_settings`, one row per user who saved settings. A change bumps the balance row's
/// version (when there is one), so a cached account is replaced and checks see the new cap.
public struct PostgresSettings: SettingsStore {
    private let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let select =
        "SELECT monthly_spend_cap_fen, low_balance_threshold_fen, cap_alert_percents FROM user_settings WHERE user_id = $1"

    static func decode(_ row: PostgresRow) throws -> UserSettings {
        try UserSettings(
            monthlySpendCapFen: try row.optionalInt64(0), lowBalanceThresholdFen: try row.optionalInt64(1),
            capAlertPercents: try PostgresText.parseInt64Array(row.string(2)).map { Int($0) })
    }

    public func settings(of userId: String) async throws(BillingError) -> UserSettings {
        try await pool.withConnection { connection in
            try connection.query(Self.select, [userId]).all.first.map(Self.decode) ?? .none
        }
    }

    public func update(_ userId: String, with update: SettingsUpdate) async throws(BillingError) -> UserSettings {
        try await pool.withConnection { connection in
            try connection.transaction { tx in
                let current = try tx.query(Self.select + " FOR UPDATE", [userId]).all.first.map(Self.decode) ?? .none
                let next = try update.applied(to: current)
                try tx.query(
                    """
                    INSERT INTO user_settings (user_id, monthly_spend_cap_fen, low_balance_threshold_fen, cap_alert_percents)
                    VALUES ($1, $2, $3, $4::int[])
                    ON CONFLICT (user_id) DO UPDATE SET monthly_spend_cap_fen = EXCLUDED.monthly_spend_cap_fen,
                        low_balance_threshold_fen = EXCLUDED.low_balance_threshold_fen,
                        cap_alert_percents = EXCLUDED.cap_alert_percents, updated_at = EXCLUDED.updated_at
                    """,
                    [
                        userId, next.monthlySpendCapFen.map { String($0.value) },
                        next.lowBalanceThresholdFen.map { String($0.value) },
                        PostgresText.int64Array(next.capAlertPercents.map { Int64($0) }),
                    ])
                try tx.query("UPDATE user_balance SET version = version + 1 WHERE user_id = $1", [userId])
                return next
            }
        }
    }
}

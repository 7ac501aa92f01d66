/// A user's own limits (spend cap, low-balance threshold, alert percents).
public protocol SettingsStore: Sendable {
    /// The user's settings; `.none` when never saved.
    func settings(of userId: String) async throws(BillingError) -> UserSettings
    /// Applies a PUT (absent keeps, null clears) and returns the settings as saved.
    func update(_ userId: String, with update: SettingsUpdate) async throws(BillingError) -> UserSettings
}

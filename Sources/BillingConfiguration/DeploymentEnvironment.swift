import BillingCore

/// Which rules apply: development (public development secrets allowed, user ids from
/// requests) or production (refuses them). Required: a deployment that forgot it must not
/// silently run with development secrets (the development file sets it).
public enum DeploymentEnvironment: String, Sendable {
    case development, production

    public init(_ root: SettingsReader) throws(BillingError) {
        guard let text = root.string("environment") else {
            throw .invalidConfiguration(key: root.fullKey("environment"), reason: "is required: development or production")
        }
        guard let environment = Self(rawValue: text) else {
            throw .invalidConfiguration(key: root.fullKey("environment"), reason: "must be development or production")
        }
        self = environment
    }
}

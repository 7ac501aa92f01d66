import BillingCore
import BillingPostgres
import Configuration

/// What billing-cron reads: the database, the catalog and zone its jobs work with, and
/// the schedules. No tokens, no callback secret, no Redis: the cron needs none of them.
public struct CronConfig: Sendable {
    public var environment: DeploymentEnvironment
    public var calendar: BillingCalendar
    public var postgres: PostgresConfig
    public var catalog: ServiceCatalog
    /// Six-field cron expressions by job name (checked by billing-cron at start).
    public var schedules: [String: String]
    public var orderMaxAgeMinutes: Int
    public var log: LogSettings
    /// Where each job run's outcome is written in Prometheus' text format, for
    /// node_exporter's textfile collector (`billing.cron.metrics_textfile`; none: not written).
    public var metricsTextfile: String?

    public init(reader: ConfigReader) throws(BillingError) {
        let root = SettingsReader(reader: reader)
        environment = try DeploymentEnvironment(root)
        calendar = try BillingCalendar(root)
        postgres = try PostgresConfig(root.scoped("database"))
        catalog = try ServiceCatalog(root.scoped("catalog"))
        let cron = root.scoped("cron")
        schedules = [
            "reset-free-quota": cron.string("reset_free_quota", default: "0 0 0 1 * *"),
            "expire-recharge-orders": cron.string("expire_recharge_orders", default: "0 */5 * * * *"),
            "reconcile": cron.string("reconcile", default: "0 30 3 * * *"),
        ]
        orderMaxAgeMinutes = try cron.int("order_max_age_minutes", default: 120, in: 1...43_200)
        metricsTextfile = cron.string("metrics_textfile").flatMap { $0.isEmpty ? nil : $0 }
        log = try LogSettings(root.scoped("log"))
    }
}

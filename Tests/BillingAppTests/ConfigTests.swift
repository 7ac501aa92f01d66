import BillingConfiguration
@testable import BillingApp
import BillingCore
import BillingRedis
import Foundation
import Testing

@Suite("Configuration: YAML, environment overrides, validation naming the key")
struct ConfigTests {
    static let configPath = TestApp.root.appendingPathComponent("configs/config.yaml").path

    func load(_ environment: [String: String], file: String? = configPath) async throws -> BillingConfig {
        try BillingConfig(reader: try await BillingConfig.reader(filePath: file, environment: environment))
    }

    @Test("the development file loads with the platform's catalog")
    func developmentFile() async throws {
        let config = try await load([:])
        #expect(config.environment == .development)
        #expect(config.http.port == 8107)
        #expect(config.catalog == .platformDefault)
        #expect(config.auth.allowUserIdParam)
        #expect(config.calendar.timeZone.identifier == "Asia/Shanghai")
        #expect(config.paymentService.port == 9101 && config.paymentService.timeoutMilliseconds == 5_000)
        #expect(config.paymentService.defaultReturnURL == nil)
    }

    @Test("environment variables override the file")
    func overrides() async throws {
        #expect(try await load([:]).lanes.knownRows)
        let config = try await load([
            "BILLING_HTTP_PORT": "9999", "BILLING_CATALOG_PAYMENT_PRICE_FEN": "12", "BILLING_AUTH_INTERNAL_TOKENS": "a,b",
            "BILLING_LANES_KNOWN_ROWS": "false",
        ])
        #expect(!config.lanes.knownRows)
        #expect(config.http.port == 9999)
        #expect(try config.catalog.entry(named: "payment").price == UnitPrice(fen: Fen(12)))
        #expect(config.auth.internalTokens == ["a", "b"])
    }

    @Test("a price is yuan text exact to 8 decimals, or µfen, or whole fen")
    func subFenPrices() async throws {
        let config = try await load([
            "BILLING_CATALOG_SERVICES": "maps,tokens,legacy",
            "BILLING_CATALOG_MAPS_PRICE": "0.0003", "BILLING_CATALOG_MAPS_FREE_CALLS_PER_MONTH": "0",
            "BILLING_CATALOG_TOKENS_PRICE_MICRO_FEN": "1", "BILLING_CATALOG_TOKENS_FREE_CALLS_PER_MONTH": "5",
            "BILLING_CATALOG_LEGACY_PRICE_FEN": "7", "BILLING_CATALOG_LEGACY_FREE_CALLS_PER_MONTH": "5",
        ])
        #expect(try config.catalog.entry(named: "maps").price.microFen == 30_000)
        #expect(try config.catalog.entry(named: "tokens").price.microFen == 1)
        #expect(try config.catalog.entry(named: "legacy").price.microFen == 7_000_000)
    }

    @Test(
        "a bad price is refused with the key it was written under",
        arguments: [
            ("PRICE", "-0.01"), ("PRICE", "0.000000001"), ("PRICE", "100000"), ("PRICE", "99999999999999999999"),
            ("PRICE", "1e-4"), ("PRICE", "0,01"), ("PRICE_MICRO_FEN", "1000000000001"), ("PRICE_MICRO_FEN", "-5"),
            ("PRICE_MICRO_FEN", "9223372036854775808"), ("PRICE_FEN", "1000001"),
        ])
    func badPrices(key: String, value: String) async throws {
        await expectConfigurationError("billing.catalog.maps.\(key.lowercased())") {
            _ = try await load([
                "BILLING_CATALOG_SERVICES": "maps", "BILLING_CATALOG_MAPS_\(key)": value,
                "BILLING_CATALOG_MAPS_FREE_CALLS_PER_MONTH": "0",
            ])
        }
    }

    @Test("a service priced twice, or not at all, is refused")
    func priceKeys() async throws {
        await expectConfigurationError("billing.catalog.maps.price") {
            _ = try await load([
                "BILLING_CATALOG_SERVICES": "maps", "BILLING_CATALOG_MAPS_PRICE": "0.01",
                "BILLING_CATALOG_MAPS_PRICE_FEN": "1", "BILLING_CATALOG_MAPS_FREE_CALLS_PER_MONTH": "0",
            ])
        }
        await expectConfigurationError("billing.catalog.maps.price") {
            _ = try await load(["BILLING_CATALOG_SERVICES": "maps", "BILLING_CATALOG_MAPS_FREE_CALLS_PER_MONTH": "0"])
        }
    }

    @Test(
        "a bad value stops the start with its key",
        arguments: [
            (["BILLING_HTTP_PORT": "eighty"], "billing.http.port"),
            (["BILLING_HTTP_PORT": "70000"], "billing.http.port"),
            (["BILLING_TIME_ZONE": "Mars/Olympus"], "billing.time_zone"),
            (["BILLING_LOG_FORMAT": "yaml"], "billing.log.format"),
            (["BILLING_LOG_LEVEL": "loud"], "billing.log.level"),
            (["BILLING_CATALOG_PAYMENT_PRICE_FEN": "-1"], "billing.catalog.payment.price_fen"),
            (["BILLING_CATALOG_PAYMENT_PRICE_FEN": "0.10"], "billing.catalog.payment.price_fen"),
            (["BILLING_DATABASE_MIGRATE_ON_START": "perhaps"], "billing.database.migrate_on_start"),
            (["BILLING_ENVIRONMENT": "staging"], "billing.environment"),
            (["BILLING_AUTH_USER_HEADER": "bad header"], "billing.auth.user_header"),
            (["BILLING_AUTH_USER_HEADER": "X-User-Id:"], "billing.auth.user_header"),
            (["BILLING_PAYMENT_SERVICE_NOTIFY_URL": "billing.internal/callback"], "billing.payment_service.notify_url"),
            (["BILLING_PAYMENT_SERVICE_RETURN_URL": "javascript:alert(1)"], "billing.payment_service.return_url"),
            (["BILLING_PAYMENT_SERVICE_TIMEOUT_MS": "0"], "billing.payment_service.timeout_ms"),
            (["BILLING_PAYMENT_SERVICE_PORT": "0"], "billing.payment_service.port"),
        ])
    func rejects(environment: [String: String], key: String) async throws {
        await expectConfigurationError(key) { _ = try await load(environment) }
    }

    @Test("production refuses to start without its secrets, and never takes the development ones")
    func productionSecrets() async throws {
        // No file here: the development file carries development secrets.
        await expectConfigurationError("billing.auth.internal_tokens") {
            _ = try await load(["BILLING_ENVIRONMENT": "production"], file: nil)
        }
        await expectConfigurationError("billing.payment_service.callback_secret") {
            _ = try await load(
                ["BILLING_ENVIRONMENT": "production", "BILLING_AUTH_INTERNAL_TOKENS": "a-long-enough-token-123"], file: nil)
        }
        await expectConfigurationError("billing.auth.internal_tokens") {
            _ = try await load(["BILLING_ENVIRONMENT": "production"])
        }
    }

    static let productionSecrets = [
        "BILLING_ENVIRONMENT": "production", "BILLING_AUTH_INTERNAL_TOKENS": "a-long-enough-token-123",
        "BILLING_PAYMENT_SERVICE_CALLBACK_SECRET": "a-long-enough-secret-456",
    ]

    @Test("without a file, the environment must be named: no silent development defaults")
    func environmentRequired() async throws {
        await expectConfigurationError("billing.environment") { _ = try await load([:], file: nil) }
        await expectConfigurationError("billing.environment") {
            _ = try await load(["BILLING_AUTH_INTERNAL_TOKENS": "a-long-enough-token-123"], file: nil)
        }
    }

    @Test(
        "production refuses development settings and unsafe tokens",
        arguments: [
            (["BILLING_AUTH_ALLOW_USER_ID_PARAM": "true"], "billing.auth.allow_user_id_param"),
            (["BILLING_PAYMENT_SERVICE_CALLBACK_SECRET": "dev-callback-secret-change-me"],
             "billing.payment_service.callback_secret"),
            (["BILLING_AUTH_INTERNAL_TOKENS": "dev-internal-token"], "billing.auth.internal_tokens"),
            (["BILLING_AUTH_PAYMENT_TOKENS": "short"], "billing.auth.payment_tokens"),
            (["BILLING_AUTH_PAYMENT_TOKENS": "a-long-enough-token-123"], "billing.auth.payment_tokens"),
            (["BILLING_DATABASE_SCHEMA": "public -c fsync=off"], "billing.database.schema"),
            (["BILLING_AUTH_ADMIN_TOKENS": "dev-admin-token"], "billing.auth.admin_tokens"),
            (["BILLING_AUTH_ADMIN_TOKENS": "short"], "billing.auth.admin_tokens"),
            (["BILLING_AUTH_ADMIN_TOKENS": "a-long-enough-token-123"], "billing.auth.admin_tokens"),
        ])
    func productionRefuses(extra: [String: String], key: String) async throws {
        await expectConfigurationError(key) {
            _ = try await load(Self.productionSecrets.merging(extra) { _, new in new }, file: nil)
        }
    }

    @Test("the production example file is valid with its secrets given, and prices passport at one fen")
    func productionExample() async throws {
        let config = try await load(
            Self.productionSecrets.merging(["BILLING_AUTH_ADMIN_TOKENS": "an-operators-token-789"]) { _, new in new },
            file: TestApp.root.appendingPathComponent("configs/config.production.example.yaml").path)
        #expect(try config.catalog.entry(named: "passport").price == UnitPrice(fen: Fen(1)))
        #expect(config.auth.adminTokens == ["an-operators-token-789"] && !config.auth.allowUserIdParam)
    }

    @Test("the cron reads only its own settings: in production it needs no token, secret or Redis")
    func cronConfig() async throws {
        let cron = try CronConfig(
            reader: try await ConfigSources.reader(
                filePath: nil,
                environment: ["BILLING_ENVIRONMENT": "production", "BILLING_CRON_ORDER_MAX_AGE_MINUTES": "30"]))
        #expect(cron.environment == .production && cron.orderMaxAgeMinutes == 30)
        #expect(cron.catalog == .platformDefault && cron.schedules["reset-free-quota"] == "0 0 0 1 * *")
        // The server's own keys, even broken, are none of the cron's business.
        _ = try CronConfig(
            reader: try await ConfigSources.reader(
                filePath: nil, environment: ["BILLING_ENVIRONMENT": "development", "BILLING_REDIS_PORT": "x"]))
        await expectConfigurationError("billing.database.port") {
            _ = try CronConfig(
                reader: try await ConfigSources.reader(
                    filePath: nil, environment: ["BILLING_ENVIRONMENT": "development", "BILLING_DATABASE_PORT": "x"]))
        }
    }

    @Test("Redis Cluster nodes: host:port list; empty is one plain Redis; anything else refused naming the key")
    func redisClusterNodes() async throws {
        #expect(try await load([:]).redis.connection.clusterNodes.isEmpty)
        let cluster = try await load(["BILLING_REDIS_CLUSTER_NODES": "127.0.0.1:53801, redis-b:53802"])
        #expect(
            cluster.redis.connection.clusterNodes == [
                RedisNode(host: "127.0.0.1", port: 53_801), RedisNode(host: "redis-b", port: 53_802),
            ])
        for bad in ["127.0.0.1", "h:0", "h:99999", ":1", "a:1,b", "h:x"] {
            await expectConfigurationError("billing.redis.cluster_nodes") {
                _ = try await load(["BILLING_REDIS_CLUSTER_NODES": bad])
            }
        }
    }

    @Test("the start-up line says which mode runs")
    func modeLine() async throws {
        let production = try await load(
            Self.productionSecrets.merging(["BILLING_AUTH_PAYMENT_TOKENS": "payment-token-0123456789"]) { _, new in new },
            file: nil)
        #expect(production.modeSummary.hasPrefix("environment=production allow_user_id_param=false"))
        #expect(production.modeSummary.contains("payment_tokens=1"))
        #expect(!production.modeSummary.contains("payment-token-0123456789"))
        #expect(try await load([:]).modeSummary.hasPrefix("environment=development allow_user_id_param=true"))
    }

    func expectConfigurationError(_ key: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected a configuration error for \(key)")
        } catch let error as BillingError {
            guard case .invalidConfiguration(let badKey, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(badKey == key)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("production with real secrets loads and does not take user ids from requests by default")
    func production() async throws {
        let config = try await load(
            [
                "BILLING_ENVIRONMENT": "production", "BILLING_AUTH_INTERNAL_TOKENS": "a-long-enough-token-123",
                "BILLING_PAYMENT_SERVICE_CALLBACK_SECRET": "a-long-enough-secret-456",
            ], file: nil)
        #expect(!config.auth.allowUserIdParam)
    }
}

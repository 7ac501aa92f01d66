import BillingConfiguration
@testable import BillingApp
import BillingCore
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
    }

    @Test("environment variables override the file")
    func overrides() async throws {
        let config = try await load([
            "BILLING_HTTP_PORT": "9999", "BILLING_CATALOG_PAYMENT_PRICE_FEN": "12", "BILLING_AUTH_INTERNAL_TOKENS": "a,b",
        ])
        #expect(config.http.port == 9999)
        #expect(try config.catalog.entry(named: "payment").priceFen == Fen(12))
        #expect(config.auth.internalTokens == ["a", "b"])
    }

    @Test(
        "a bad value stops the start with its key",
        arguments: [
            (["BILLING_HTTP_PORT": "eighty"], "billing.http.port"),
            (["BILLING_HTTP_PORT": "70000"], "billing.http.port"),
            (["BILLING_TIME_ZONE": "Mars/Olympus"], "billing.time_zone"),
            (["BILLING_CATALOG_PAYMENT_PRICE_FEN": "-1"], "billing.catalog.payment.price_fen"),
            (["BILLING_CATALOG_PAYMENT_PRICE_FEN": "0.10"], "billing.catalog.payment.price_fen"),
            (["BILLING_DATABASE_MIGRATE_ON_START": "perhaps"], "billing.database.migrate_on_start"),
            (["BILLING_ENVIRONMENT": "staging"], "billing.environment"),
            (["BILLING_ENVIRONMENT": "production"], "billing.auth.internal_tokens"),
            (
                ["BILLING_ENVIRONMENT": "production", "BILLING_AUTH_INTERNAL_TOKENS": "a-long-enough-token-123"],
                "billing.payment_service.callback_secret"
            ),
            (["BILLING_AUTH_USER_HEADER": "bad header"], "billing.auth.user_header"),
        ])
    func rejects(environment: [String: String], key: String) async throws {
        do {
            var config = try await load(environment, file: key == "billing.auth.internal_tokens" || key.hasPrefix("billing.payment") ? nil : Self.configPath)
            if key == "billing.auth.user_header" {
                _ = try UserIdentity(headerName: config.auth.userHeader, allowUserIdParam: true)
            }
            config.http.port += 0
            Issue.record("expected a configuration error for \(key)")
        } catch let error as BillingError {
            guard case .invalidConfiguration(let badKey, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(badKey == key)
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

@testable import BillingApp
import BillingConfiguration
import BillingCore
import CallbackSigning
import Foundation
import Testing
import TestSupport

/// The server's own parsers and its configuration, fed random and hostile input: each
/// answers with a value or a clear error naming what was wrong; none traps.
@Suite("Server parsers and configuration under random input")
struct ParserFuzzTests {
    static let sampleJSON = [
        #"{"user_id": "u1", "service_name": "payment", "count": 3, "request_id": "r1"}"#,
        #"{"amount": "12.30", "payment_method": "alipay", "nested": [1, {"a": null}], "s": "\u00e9\ud83d\ude00"}"#,
        #"[true, false, null, -0, 1e5, 1.5E-3, "x\n\t\"\\/"]"#,
    ]

    @Test("the JSON parser takes random and mutated bytes without trapping; what it accepts is JSON")
    func json() {
        var random = FuzzRandom()
        for _ in 0..<FuzzRandom.cases(20_000) {
            var bytes = Array(random.pick(Self.sampleJSON).utf8)
            switch Int.random(in: 0..<5, using: &random) {
            case 0: bytes = random.bytes(Int.random(in: 0...64, using: &random))
            case 1:
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            case 2: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random)))
            case 3:
                let depth = Int.random(in: 1...200, using: &random)
                bytes = Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8)
            default:
                bytes.insert(contentsOf: Array(random.hostileText().utf8), at: Int.random(in: 0...bytes.count, using: &random))
            }
            if let value = try? JSONParser.parse(bytes) {
                // Whatever it accepted, the standard library's parser accepts too, except
                // numbers beyond a Double: JSON allows them, and this parser keeps them as text.
                let text = String(decoding: bytes, as: UTF8.self)
                let hugeNumber = text.contains(/[eE][+-]?[0-9]{3,}|[0-9]{300,}/)
                #expect(
                    hugeNumber
                        || (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil,
                    "seed \(random.seed): accepted \(text) → \(value)")
            }
        }
    }

    @Test("signature headers of any shape are refused without trapping")
    func signatureHeaders() {
        var random = FuzzRandom()
        let signature = CallbackSignature(secret: "fuzz-secret-0123456789", windowSeconds: 300)
        let body = Array(#"{"order_id":"o"}"#.utf8)
        for _ in 0..<FuzzRandom.cases(20_000) {
            var parts: [String] = []
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                parts.append(random.pick(["t", "v1", "v0", "", "T"]) + random.pick(["=", "==", ""]) + random.hostileText())
            }
            let header = random.chance(0.9) ? parts.joined(separator: random.pick([",", ", ", ";"])) : random.hostileText()
            let now = random.pick([Date(), .distantPast, .distantFuture, Date(timeIntervalSince1970: 0)])
            #expect(throws: BillingError.self, "seed \(random.seed): \(header)") {
                try signature.verify(header: header, body: body, now: now)
            }
        }
        let now = Date()
        let good = signature.header(timestamp: Int64(now.timeIntervalSince1970), body: body)
        #expect(throws: Never.self) { try signature.verify(header: good, body: body, now: now) }
    }

    @Test("bearer credentials: only `Bearer <one token>` counts")
    func bearer() {
        var random = FuzzRandom()
        for _ in 0..<FuzzRandom.cases(20_000) {
            let header = random.chance(0.5) ? "Bearer " + random.hostileText() : random.hostileText()
            if let token = BearerToken.parse(header) {
                // Compared as bytes: "Bearer " followed by a combining mark is one Character less.
                let scheme = String(decoding: header.utf8.prefix(7), as: UTF8.self).lowercased()
                #expect(!token.isEmpty && !token.utf8.contains(UInt8(ascii: " ")) && scheme == "bearer ",
                        "seed \(random.seed): \(header.debugDescription) → \(token.debugDescription)")
            }
        }
        #expect(BearerToken.parse("Bearer abc") == "abc")
        #expect(BearerToken.parse("bearer   abc  ") == "abc")
        #expect(BearerToken.parse("Bearer a b") == nil)
        #expect(BearerToken.parse("Basic abc") == nil)
        #expect(BearerToken.parse("Bearer ") == nil)
        #expect(BearerToken.parse("Bearer\u{0}abc") == nil)
    }

    static let configKeys = [
        "BILLING_ENVIRONMENT", "BILLING_TIME_ZONE", "BILLING_HTTP_PORT", "BILLING_HTTP_BODY_LIMIT_BYTES",
        "BILLING_GRPC_ENABLED", "BILLING_GRPC_PORT", "BILLING_DATABASE_PORT", "BILLING_DATABASE_POOL_SIZE",
        "BILLING_DATABASE_ACQUIRE_TIMEOUT_MS", "BILLING_DATABASE_LOCK_TIMEOUT_MS", "BILLING_DATABASE_STATEMENT_TIMEOUT_MS",
        "BILLING_DATABASE_CONNECT_TIMEOUT_SECONDS", "BILLING_DATABASE_SCHEMA", "BILLING_DATABASE_MIGRATE_ON_START",
        "BILLING_DEDUCTION_STRATEGY", "BILLING_LANES_COUNT", "BILLING_LANES_MAX_BATCH", "BILLING_LANES_MAX_QUEUED", "BILLING_LANES_KNOWN_ROWS",
        "BILLING_AUTH_USER_HEADER", "BILLING_AUTH_ALLOW_USER_ID_PARAM", "BILLING_AUTH_INTERNAL_TOKENS",
        "BILLING_AUTH_PAYMENT_TOKENS", "BILLING_PAYMENT_SERVICE_PORT", "BILLING_PAYMENT_SERVICE_TIMEOUT_MS",
        "BILLING_PAYMENT_SERVICE_NOTIFY_URL", "BILLING_PAYMENT_SERVICE_RETURN_URL",
        "BILLING_PAYMENT_SERVICE_SIGNATURE_WINDOW_SECONDS", "BILLING_PAYMENT_SERVICE_CALLBACK_SECRET",
        "BILLING_REDIS_PORT", "BILLING_REDIS_POOL_SIZE", "BILLING_REDIS_TTL_SECONDS", "BILLING_REDIS_CONNECT_TIMEOUT_MS",
        "BILLING_CRON_ORDER_MAX_AGE_MINUTES", "BILLING_CATALOG_SERVICES", "BILLING_CATALOG_PAYMENT_PRICE_FEN",
        "BILLING_CATALOG_PAYMENT_FREE_CALLS_PER_MONTH",
    ]

    @Test("any configuration value loads or stops the start with a key, never a trap")
    func configuration() async throws {
        var random = FuzzRandom()
        for _ in 0..<FuzzRandom.cases(300) {
            var environment = ["BILLING_ENVIRONMENT": "development"]
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                environment[random.pick(Self.configKeys)] = random.hostileText()
            }
            do {
                _ = try BillingConfig(reader: try await BillingConfig.reader(filePath: nil, environment: environment))
            } catch let error as BillingError {
                guard case .invalidConfiguration(let key, let reason) = error else {
                    Issue.record("seed \(random.seed): \(error)")
                    continue
                }
                #expect(key.hasPrefix("billing.") && !reason.isEmpty, "seed \(random.seed)")
            }
        }
    }
}

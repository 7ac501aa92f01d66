@testable import BillingApp
import BillingCore
import BillingProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import HTTPTypes
import NIOCore
import Synchronization
import Testing
import TestSupport

/// Hostile input at every route and RPC, over real sockets. A request that could change
/// money is always broken in at least one way on purpose (so it must be refused); the
/// rest of it is random. Afterwards: no answer was a 5xx, every refusal carried a stable
/// code, the server still answers, and the ledger did not move.
@Suite("Fuzz: hostile input over real sockets never gets a 5xx, never moves the ledger", .timeLimit(.minutes(5)))
struct FuzzTests {
    static let rich = "fz-rich"

    struct Request: Sendable, CustomStringConvertible {
        var method: HTTPRequest.Method
        var path: String
        var query: [(String, String)] = []
        var headers: [(String, String)] = []
        var body: [UInt8]?
        /// Could change money if valid, so it was broken on purpose and must be refused.
        var mustRefuse: Bool

        var uri: String {
            guard !query.isEmpty else { return path }
            return path + "?" + query.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        }

        static func encode(_ text: String) -> String {
            var out = ""
            for byte in text.utf8 {
                if (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                {
                    out.append(Character(Unicode.Scalar(byte)))
                } else {
                    out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
                }
            }
            return out
        }

        var description: String {
            let shownBody = body.map { String(decoding: $0.prefix(300), as: UTF8.self) } ?? "-"
            return "\(method) \(uri.prefix(300)) headers=\(headers.map { "\($0.0): \($0.1.prefix(80))" }) body=\(shownBody)"
        }
    }

    /// A JSON object kept as ordered members of raw JSON text, so keys can repeat.
    struct Body {
        var members: [(String, String)]

        func bytes() -> [UInt8] {
            Array(("{" + members.map { "\(json($0.0)):\($0.1)" }.joined(separator: ",") + "}").utf8)
        }

        mutating func set(_ key: String, _ raw: String) {
            members.removeAll { $0.0 == key }
            members.append((key, raw))
        }
    }

    static func json(_ text: String) -> String { JSONValue.string(text).serialized() }

    // MARK: Generators

    /// A valid request that would move money, and the fields that must be present.
    static func mutatingBase(_ random: inout FuzzRandom, orderId: String) -> (Request, Body, [String]) {
        switch Int.random(in: 0..<3, using: &random) {
        case 0:
            let body = Body(members: [
                ("user_id", json(rich)), ("service_name", json("payment")),
                ("count", String(Int.random(in: 1...2_000, using: &random))),
                ("request_id", json("fz-\(random.next())")),
            ])
            return (
                Request(method: .post, path: "/internal/v1/billing/deduct",
                        headers: [("Authorization", "Bearer \(TestApp.internalToken)")], mustRefuse: true),
                body, ["user_id", "service_name", "count"])
        case 1:
            let body = Body(members: [
                ("order_id", json(orderId)), ("amount_fen", "500"), ("status", json("SUCCESS")),
            ])
            return (
                Request(method: .post, path: "/internal/v1/billing/callback",
                        headers: [("Authorization", "Bearer \(TestApp.paymentToken)")], mustRefuse: true),
                body, ["amount_fen", "status"])
        default:
            let body = Body(members: [
                ("amount_fen", String(Int.random(in: 1...100_000, using: &random))), ("payment_method", json("alipay")),
            ])
            return (
                Request(method: .post, path: "/api/v1/billing/recharge", query: [("user_id", rich)], mustRefuse: true),
                body, ["amount_fen", "payment_method"])
        }
    }

    /// Breaks a request in one way that no valid request has.
    static func corrupt(_ request: inout Request, _ body: inout Body, required: [String], _ random: inout FuzzRandom) {
        let invalidValues: [String: [String]] = [
            "user_id": ["\"\"", "\"a b\"", "\"\\u0000\"", json(String(repeating: "u", count: 129)), "[]", "{}", "true", "1.5"],
            "service_name": ["\"weather\"", "\"\"", "\"PAYMENT\"", "[\"payment\"]", "7"],
            "count": ["0", "-1", "2147483648", "9223372036854775808", "-9223372036854775809", "1e3", "1.5", "\"5\"",
                      "99999999999999999999999999999", "[]", "{}"],
            "amount_fen": ["0", "-1", "100000001", "9223372036854775807", "-9223372036854775808", "1e2", "0.5", "\"x\"",
                           "[]"],
            "status": ["\"MAYBE\"", "\"\"", "3", "[]"],
            "payment_method": ["\"paypal\"", "\"\"", "{}", "0"],
        ]
        let path = request.path
        switch Int.random(in: 0..<11, using: &random) {
        case 0:  // Credentials missing or wrong.
            request.headers.removeAll { $0.0 == "Authorization" }
            if path.hasSuffix("/recharge") {
                request.query.removeAll { $0.0 == "user_id" }
                if random.chance(0.5) { request.headers.append(("X-User-Id", "someone-else")) ; request.query.append(("user_id", rich)) }
            } else if path.hasSuffix("/callback"), random.chance(0.5) {
                request.headers.append(("X-Billing-Signature", "t=\(random.hostileText()),v1=\(random.hostileText())"))
            } else if random.chance(0.7) {
                request.headers.append(("Authorization", random.pick([
                    "Bearer \(random.hostileText())", "Basic \(TestApp.internalToken)", "Bearer",
                    "bearer  \(TestApp.internalToken) extra", random.hostileText(),
                    path.hasSuffix("/callback") ? "Bearer \(TestApp.internalToken)" : "Bearer \(TestApp.paymentToken)",
                ])))
            }
        case 1:  // Not JSON, or JSON broken at the byte level.
            var bytes = body.bytes()
            switch Int.random(in: 0..<6, using: &random) {
            case 0: bytes = Array(bytes.prefix(Int.random(in: 1..<bytes.count, using: &random)))
            case 1: bytes += Array(" trailing".utf8)
            case 2: bytes = Array(String(repeating: "[", count: Int.random(in: 33...3_000, using: &random)).utf8)
            case 3: bytes = [UInt8(ascii: "{"), UInt8(ascii: "\"")] + [0xC3, 0x28, 0xFF, 0xFE] + Array("\":1}".utf8)
            case 4: bytes = random.bytes(Int.random(in: 1...200, using: &random)).map { $0 == UInt8(ascii: "{") ? 0 : $0 }
                if bytes.first == UInt8(ascii: "{") || bytes.first == UInt8(ascii: "[") { bytes[0] = 0x01 }
            default: bytes = Array("[1,2,3]".utf8)
            }
            request.body = bytes
            return
        case 2:  // A required field missing (or null, which reads as missing).
            let field = random.pick(required)
            if random.chance(0.5) { body.members.removeAll { $0.0 == field } } else { body.set(field, "null") }
        case 3, 4, 5:  // A required field with a value no valid request has.
            let field = random.pick(required)
            body.set(field, random.pick(invalidValues[field] ?? ["[]"]))
        case 6:  // The same key again, the later one invalid: the last one counts.
            let field = random.pick(required)
            body.members.append((field, random.pick(invalidValues[field] ?? ["[]"])))
        case 7:  // Not JSON at all, by content type.
            request.headers.append(("Content-Type", random.pick(["text/plain", "application/xml", "multipart/form-data", "json"])))
        case 8:  // Too large.
            body.members.append(("pad", json(String(repeating: "p", count: 70_000))))
        case 9:  // The wrong method on a known path.
            request.method = random.pick([.get, .put, .delete, .patch])
        default:  // A path that is not quite the route.
            request.path = random.pick([
                path + "/", path + "/x", path.uppercased(), path.replacingOccurrences(of: "v1", with: "v2"),
                path + "%00", "/internal/v1/billing/" + Request.encode(random.hostileText()),
            ])
            if request.path == path + "/" { request.path = path + "/extra" }
        }
        request.body = body.bytes()
    }

    /// Noise that cannot make a broken request valid: unknown fields, unrelated headers
    /// and query parameters with hostile values.
    static func addNoise(_ request: inout Request, _ body: inout Body, _ random: inout FuzzRandom) {
        for _ in 0..<Int.random(in: 0...3, using: &random) {
            body.members.insert((random.pick(["pad", "cost", "extra", "nested", "\u{0}k", "_"]), random.pick([
                json(random.hostileText()), "[[[[1]]]]", "{\"a\":{\"b\":[]}}", "1e999", "-0.0", "99999999999999999999",
            ])), at: 0)
        }
        for _ in 0..<Int.random(in: 0...2, using: &random) {
            request.headers.append((random.pick(["X-Forwarded-For", "Idempotency-Key", "X-Request-Id", "Accept", "Cookie"]),
                                    random.hostileText()))
        }
        if random.chance(0.3) { request.query.append((random.pick(["pad", "x", "cost"]), random.hostileText())) }
    }

    static func readOnly(_ random: inout FuzzRandom) -> Request {
        let paths = [
            "/api/v1/billing/account", "/api/v1/billing/records", "/api/v1/billing/stats/today",
            "/api/v1/billing/stats/month", "/api/v1/billing/stats/summary",
            "/api/v1/billing/recharge/orders/" + Request.encode(random.hostileText()),
            "/health", "/ready", "/openapi.yaml",
        ]
        var request = Request(method: .get, path: random.pick(paths), mustRefuse: false)
        let names = ["user_id", "userId", "page", "page_size", "pageSize", "cursor", "service_name", "type", "app_id",
                     "from", "to"]
        for _ in 0..<Int.random(in: 0...5, using: &random) {
            let value = random.chance(0.3) ? random.pick([rich, "1", "20", "payment", "free", "2026-11-01T00:00:00Z"])
                : random.hostileText()
            request.query.append((random.pick(names), value))
        }
        if random.chance(0.3) { request.headers.append(("X-User-Id", random.chance(0.5) ? rich : random.hostileText())) }
        if random.chance(0.2) {
            // The check changes nothing: any body.
            request.method = .post
            request.path = "/internal/v1/billing/check"
            request.headers.append(("Authorization", "Bearer \(TestApp.internalToken)"))
            var body = Body(members: [("user_id", json(rich)), ("service_name", json("payment")), ("count", "1")])
            var ignored = request
            corrupt(&ignored, &body, required: ["user_id", "service_name", "count"], &random)
            request.body = random.chance(0.5) ? body.bytes() : ignored.body
            request.headers.append(("Content-Type", "application/json"))
        }
        return request
    }

    // MARK: The ledger

    struct LedgerSnapshot: Equatable {
        var numbers: [Int64]
    }

    static func snapshot(_ app: TestApp) async throws -> LedgerSnapshot {
        try await app.parts.pool.withConnection { connection in
            let row = try connection.query(
                """
                SELECT (SELECT count(*) FROM billing_record), (SELECT coalesce(sum(balance_fen), 0) FROM user_balance),
                    (SELECT count(*) FROM user_balance), (SELECT count(*) FROM recharge_order),
                    (SELECT count(*) FROM recharge_order WHERE status = 'success'),
                    (SELECT coalesce(sum(used), 0) FROM free_quota), (SELECT count(*) FROM free_quota),
                    (SELECT count(*) FROM billing_record WHERE balance_after_fen IS NOT NULL)
                """)[0]
            return LedgerSnapshot(numbers: try (0..<8).map { try row.int64($0) })
        }
    }

    // MARK: Tests

    @Test("HTTP: every route and header with hostile input answers 4xx with a code (or 200 for reads)")
    func http() async throws {
        let port = try FreePort.pick()
        try await TestApp.serving(environment: ["BILLING_HTTP_PORT": String(port)]) { app in
            try await app.fund(Self.rich, yuan: "100.00")
            // A failed order of the rich user: a valid success callback would credit it.
            let orderId = try await app.failedOrder(Self.rich, amountFen: 500)
            let before = try await Self.snapshot(app)

            var random = FuzzRandom()
            let seed = random.seed
            var requests: [Request] = []
            for _ in 0..<FuzzTests.casesPerRun {
                if random.chance(0.6) {
                    var (request, body, required) = Self.mutatingBase(&random, orderId: orderId)
                    Self.addNoise(&request, &body, &random)
                    Self.corrupt(&request, &body, required: required, &random)
                    if request.body != nil, !request.headers.contains(where: { $0.0 == "Content-Type" }) {
                        request.headers.append(("Content-Type", "application/json"))
                    }
                    // A valid signature over a broken callback: the body rules must still refuse it.
                    let paymentBearer = ("Authorization", "Bearer \(TestApp.paymentToken)")
                    if request.headers.contains(where: { $0 == paymentBearer }), random.chance(0.5) {
                        request.headers.removeAll { $0 == paymentBearer }
                        request.headers.append((
                            "X-Billing-Signature",
                            app.signer.header(timestamp: Int64(Date().timeIntervalSince1970), body: request.body ?? [])
                        ))
                    }
                    requests.append(request)
                } else {
                    requests.append(Self.readOnly(&random))
                }
            }
            let tally = Tally()
            // Eight at a time: concurrency is part of the attack.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, request) in requests.enumerated() {
                    if index >= 8 { try await group.next() }
                    group.addTask {
                        var fields = HTTPFields()
                        for (name, value) in request.headers {
                            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
                        }
                        let reply = try await app.transport(
                            request.uri, request.method, fields, request.body.map { ByteBuffer(bytes: $0) })
                        tally.statuses.withLock { $0[reply.status, default: 0] += 1 }
                        let codeIsStable = reply.errorCode.map { code in
                            !code.isEmpty && code.allSatisfy { $0.isUppercase || $0 == "_" }
                        } ?? false
                        let problem: String? =
                            if reply.status >= 500 {
                                "5xx"
                            } else if request.mustRefuse && !(400..<500).contains(reply.status) {
                                "a request broken on purpose was not refused"
                            } else if reply.status >= 400 && (!codeIsStable || reply.json?["success"] != .bool(false)) {
                                "refusal without a stable code"
                            } else if reply.status != 200 && reply.status < 400 {
                                "unexpected status"
                            } else { nil }
                        if let problem {
                            tally.failures.withLock {
                                $0.append("\(problem): \(request) → \(reply.status) \(reply.text.prefix(300))")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let found = tally.failures.withLock { $0 }
            #expect(found.isEmpty, "seed \(seed): \(found.count) problems, first: \(found.prefix(5))")
            #expect(try await app.send(.get, "/health").status == 200, "seed \(seed)")
            let after = try await Self.snapshot(app)
            #expect(before == after, "seed \(seed): the ledger moved: \(before) → \(after)")
            let seen = tally.statuses.withLock { $0 }
            // The mix reached the handlers, not only the router.
            #expect(seen[400, default: 0] > 0 && seen[401, default: 0] > 0 && seen[200, default: 0] > 0, "\(seen)")

            // Malformed HTTP itself: the server drops or refuses it and stays up.
            for raw in Self.malformedHTTP {
                _ = await RawSocket.exchanged(port: port, bytes: raw)
            }
            #expect(try await app.send(.get, "/health").status == 200)
            #expect(try await Self.snapshot(app) == before)
        }
    }

    final class Tally: Sendable {
        let failures = Mutex<[String]>([])
        let statuses = Mutex<[Int: Int]>([:])
    }

    static var casesPerRun: Int { FuzzRandom.cases(1_500) }

    static let malformedHTTP: [[UInt8]] = [
        Array("GARBAGE\r\n\r\n".utf8),
        Array("GET / HTTP/9.9\r\n\r\n".utf8),
        Array("POST /internal/v1/billing/deduct HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".utf8),
        Array("POST /internal/v1/billing/deduct HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n{}".utf8),
        Array("POST /internal/v1/billing/deduct HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n".utf8),
        Array("POST /internal/v1/billing/deduct HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}".utf8),
        Array("GET /health HTTP/1.1\r\nX-Big: \(String(repeating: "h", count: 200_000))\r\n\r\n".utf8),
        [0, 0, 0, 0, 0xFF, 0xFE, 0x0D, 0x0A, 0x0D, 0x0A],
        Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [UInt8](repeating: 0xFF, count: 64),
        Array("GET /api/v1/billing/account?user_id=%ZZ%00%ff HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
    ]

    @Test("gRPC: out-of-range and hostile fields in every RPC answer a client error, never internal")
    func grpc() async throws {
        try await TestApp.with { app in
            try await app.fund(Self.rich, yuan: "100.00")
            let before = try await Self.snapshot(app)
            var random = FuzzRandom()
            let seed = random.seed
            var failures: [String] = []
            let allowed: Set<RPCError.Code> = [
                .invalidArgument, .unauthenticated, .permissionDenied, .notFound, .failedPrecondition, .alreadyExists,
                .outOfRange,
            ]
            try await HardeningTests.withClients(app) { gateway, console in
                for _ in 0..<FuzzRandom.cases(400) {
                    let hostileCount = random.pick([0, -1, Int64.min, Int64.max, Int64(Int32.max) + 1, -Int64(Int32.max)])
                    let user = random.chance(0.5) ? Self.rich : random.hostileText()
                    let service = random.chance(0.5) ? "payment" : random.hostileText()
                    let metadata: Metadata =
                        random.chance(0.8)
                        ? ["authorization": "Bearer \(TestApp.internalToken)"]
                        : ["authorization": .string(random.hostileHeaderValue())]
                    // Deductions and recharges are always broken in at least one way.
                    let (name, code) = await Self.rpcCode(random.pick(Array(0..<6)), &random) { which, random in
                        switch which {
                        case 0:
                            _ = try await gateway.deductQuota(
                                .with {
                                    $0.userID = user
                                    $0.serviceName = service
                                    $0.count = hostileCount
                                    $0.requestID = random.hostileText()
                                }, metadata: metadata)
                            return "DeductQuota"
                        case 1:
                            _ = try await gateway.checkQuota(
                                .with {
                                    $0.userID = user
                                    $0.serviceName = service
                                    $0.count = random.chance(0.5) ? hostileCount : 1
                                }, metadata: metadata)
                            return "CheckQuota"
                        case 2:
                            _ = try await gateway.rechargeCallback(
                                .with {
                                    $0.orderID = random.hostileText()
                                    $0.paymentID = random.hostileText()
                                    $0.amountFen = random.pick([0, -1, Int64.min, Int64.max, 500])
                                    $0.status = random.pick(["SUCCESS", "MAYBE", "", random.hostileText()])
                                }, metadata: ["authorization": "Bearer \(TestApp.paymentToken)"])
                            return "RechargeCallback"
                        case 3:
                            _ = try await console.recharge(
                                .with {
                                    $0.userID = user
                                    $0.amountFen = random.pick([0, -1, Int64.min, Int64.max, 100_000_001])
                                    $0.paymentMethod = random.pick(["alipay", "paypal", random.hostileText()])
                                    $0.currency = random.pick(["", "CNY", random.hostileText()])
                                    $0.returnURL = random.pick(["", random.hostileText()])
                                    $0.idempotencyKey = random.pick(["", random.hostileText()])
                                }, metadata: ["x-forwarded-for": .string(random.hostileHeaderValue())])
                            return "Recharge"
                        case 4:
                            _ = try await console.listRecords(
                                .with {
                                    $0.userID = user
                                    $0.page = random.pick([0, -1, Int32.min, Int32.max, 1])
                                    $0.pageSize = random.pick([0, -1, Int32.min, Int32.max, 101, 20])
                                    $0.serviceName = random.pick(["", service])
                                    $0.type = random.pick(["", "free", random.hostileText()])
                                    $0.appID = random.pick(["", random.hostileText()])
                                    $0.cursor = random.pick(["", random.hostileText()])
                                })
                            return "ListRecords"
                        default:
                            _ = try await console.getStatsToday(
                                .with {
                                    $0.userID = user
                                    $0.serviceName = random.pick(["", service])
                                }, metadata: random.chance(0.3) ? ["x-user-id": .string(random.hostileHeaderValue())] : [:])
                            return "GetStatsToday"
                        }
                    }
                    let mustRefuse = name == "DeductQuota" || name == "RechargeCallback" || name == "Recharge"
                    if let code, !allowed.contains(code) {
                        failures.append("\(name) → \(code) \(Self.lastError)")
                    } else if code == nil, mustRefuse {
                        failures.append("\(name) accepted a hostile request")
                    }
                }
            }
            #expect(failures.isEmpty, "seed \(seed): \(failures.prefix(10))")
            #expect(try await Self.snapshot(app) == before, "seed \(seed): the ledger moved")
        }
    }

    nonisolated(unsafe) static var lastError = ""
    /// Runs one call; its name and the status code it ended with (nil: success).
    static func rpcCode(
        _ which: Int, _ random: inout FuzzRandom,
        _ body: (Int, inout FuzzRandom) async throws -> String
    ) async -> (String, RPCError.Code?) {
        let names = ["DeductQuota", "CheckQuota", "RechargeCallback", "Recharge", "ListRecords", "GetStatsToday"]
        do {
            return (try await body(which, &random), nil)
        } catch let error as RPCError {
            lastError = "\(error)"
            return (names[which], error.code)
        } catch {
            return (names[which], .unknown)
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

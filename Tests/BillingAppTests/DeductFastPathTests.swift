@testable import BillingApp
import BillingCore
import Foundation
import HTTPTypes
import Testing

/// `POST /internal/v1/billing/deduct` over a real socket is answered on the event loop
/// (`DeductFastPath`); the same request with any query string goes through the router. Both
/// must answer alike, and the connection's answers must keep the requests' order.
@Suite("Deduct fast path: answered on the event loop exactly as the router answers", .timeLimit(.minutes(3)))
struct DeductFastPathTests {
    static let path = "/internal/v1/billing/deduct"
    static let routed = "/internal/v1/billing/deduct?via=router"
    static let auth = ["Authorization": "Bearer \(TestApp.internalToken)"]

    static func serving(_ extra: [String: String] = [:], _ body: @Sendable (TestApp, Int) async throws -> Void)
        async throws
    {
        let port = try FreePort.pick()
        try await TestApp.serving(environment: ["BILLING_HTTP_PORT": String(port)].merging(extra) { _, new in new }) {
            app in try await body(app, port)
        }
    }

    static func requestsCounted(_ app: TestApp, status: Int) async throws -> Int {
        let text = try await app.send(.get, "/metrics").text
        let prefix = #"http_requests_total{route="/internal/v1/billing/deduct",method="POST",status="\#(status)"} "#
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
    }

    /// An authorized JSON deduction as bytes on the wire, to `target`.
    static func rawDeduction(_ target: String, body: String) -> String {
        var wire = "POST \(target) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(TestApp.internalToken)\r\n"
        wire += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        return wire
    }

    @Test("an accepted deduction: the router's envelope, the caller's request id, Date, Server; counted in the metrics")
    func accepted() async throws {
        try await Self.serving { app, _ in
            let before = try await Self.requestsCounted(app, status: 200)
            let body = #"{"user_id": "fp-a", "service_name": "passport", "count": 2, "request_id": "fp-a-1"}"#
            let fast = try await app.send(.post, Self.path, json: body, headers: Self.auth.merging(["X-Request-Id": "gw-77"]) { $1 })
            #expect(fast.status == 200)
            #expect(fast.data?["freeCount"]?.int64 == 2 && fast.data?["replayed"] == .bool(false))
            #expect(fast.headers[.requestId] == "gw-77")
            #expect(fast.headers[.server] == "billing-service")
            #expect(fast.headers[.contentType] == "application/json; charset=utf-8")
            #expect(fast.headers[.date]?.hasSuffix(" GMT") == true)
            // The router replays it: the same answer, marked as a replay.
            let viaRouter = try await app.send(.post, Self.routed, json: body, headers: Self.auth)
            #expect(viaRouter.status == 200 && viaRouter.data?["replayed"] == .bool(true))
            #expect(fast.text.replacingOccurrences(of: #""replayed":false"#, with: #""replayed":true"#) == viaRouter.text)
            // And the fast path replays what the router stored.
            let again = try await app.send(.post, Self.path, json: body, headers: Self.auth)
            #expect(again.data == viaRouter.data)
            #expect(try await Self.requestsCounted(app, status: 200) == before + 3)
            // Without a request id of its own, the answer names one.
            let unnamed = try await app.send(
                .post, Self.path, json: #"{"user_id": "fp-a", "service_name": "passport", "count": 1}"#, headers: Self.auth)
            #expect(unnamed.status == 200 && (unnamed.headers[.requestId]?.isEmpty == false))
        }
    }

    @Test("every refusal is the router's: same status, same code, ledger unmoved")
    func refusalsAlike() async throws {
        try await Self.serving { app, _ in
            let cases: [(String, [String: String])] = [
                (#"{"user_id": "fp-r", "service_name": "nope", "count": 1}"#, Self.auth),  // unknown service (lane side)
                (#"{"user_id": "fp-r", "service_name": "passport", "count": 99999999}"#, Self.auth),  // 402
                (#"{"user_id": "fp-r", "service_name": "passport", "count": -1}"#, Self.auth),
                (#"{"user_id": "fp-r", "service_name": "passport"}"#, Self.auth),
                (#"{"user_id": "fp-r", "service_name": "passport", "count": 1"#, Self.auth),  // malformed JSON
                (#"{"user_id": "", "service_name": "passport", "count": 1}"#, Self.auth),
                ("", Self.auth),
                (#"{"user_id": "fp-r", "service_name": "passport", "count": 1}"#, [:]),  // no token
                (#"{"user_id": "fp-r", "service_name": "passport", "count": 1}"#, ["Authorization": "Bearer wrong"]),
                (
                    #"{"user_id": "fp-r", "service_name": "passport", "count": 1}"#,
                    Self.auth.merging(["Content-Type": "text/plain"]) { $1 }
                ),
                (
                    #"{"user_id": "fp-r", "service_name": "passport", "count": 1, "pad": ""#
                        + String(repeating: "x", count: 70_000) + #""}"#, Self.auth
                ),  // over the body limit
            ]
            for (body, headers) in cases {
                let fast = try await app.send(.post, Self.path, json: body, headers: headers)
                let viaRouter = try await app.send(.post, Self.routed, json: body, headers: headers)
                #expect(fast.status >= 400 && fast.status < 500, "\(body.prefix(80)): \(fast.status) \(fast.text)")
                #expect(fast.status == viaRouter.status, "\(body.prefix(80))")
                #expect(fast.errorCode != nil && fast.errorCode == viaRouter.errorCode, "\(body.prefix(80))")
                #expect(fast.json == viaRouter.json, "\(body.prefix(80))")
            }
            let records = try await app.send(.get, "/api/v1/billing/records?user_id=fp-r")
            #expect(records.status == 200 && records.data?["total"]?.int64 == 0, "\(records.text)")
        }
    }

    @Test("pipelined requests are answered in order, deductions and routed requests mixed")
    func pipelinedInOrder() async throws {
        try await Self.serving { _, port in
            func request(_ id: String, _ target: String, _ body: String?, close: Bool = false) -> String {
                let method = body == nil ? "GET" : "POST"
                var text = "\(method) \(target) HTTP/1.1\r\nHost: x\r\nX-Request-Id: \(id)\r\n"
                text += "Authorization: Bearer \(TestApp.internalToken)\r\n"
                if close { text += "Connection: close\r\n" }
                if let body { text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
                return text + "\r\n" + (body ?? "")
            }
            func deduction(_ n: Int) -> String {
                #"{"user_id": "fp-p\#(n % 3)", "service_name": "passport", "count": 1, "request_id": "fp-p-\#(n)"}"#
            }
            let ids = (1...12).map { "p\($0)" }
            var wire = ""
            for (n, id) in ids.enumerated() {
                switch n % 4 {
                case 0, 2: wire += request(id, Self.path, deduction(n))
                case 1: wire += request(id, "/health", nil)
                default: wire += request(id, Self.routed, deduction(n))
                }
            }
            wire += request("last", Self.path, deduction(99), close: true)
            let answer = String(decoding: await RawSocket.exchanged(port: port, bytes: Array(wire.utf8), quietSeconds: 20), as: UTF8.self)
            let answered = answer.components(separatedBy: "\r\n").compactMap { line -> String? in
                let lower = line.lowercased()
                guard lower.hasPrefix("x-request-id: ") else { return nil }
                return String(line.dropFirst("x-request-id: ".count))
            }
            #expect(answered == ids + ["last"], "\(answer.prefix(2_000))")
            #expect(answer.components(separatedBy: "HTTP/1.1 200 OK").count - 1 == ids.count + 1)
        }
    }

    @Test("a client that closes right after sending: its deduction is applied once, a retry replays it")
    func clientGone() async throws {
        try await Self.serving { app, port in
            let body = #"{"user_id": "fp-g", "service_name": "passport", "count": 1, "request_id": "fp-g-1"}"#
            let wire = Self.rawDeduction(Self.path, body: body)
            _ = await RawSocket.exchanged(port: port, bytes: Array(wire.utf8), readReply: false)
            func records() async throws -> Int {
                guard case .array(let records)? = try await app.send(.get, "/api/v1/billing/records?user_id=fp-g").data?["records"]
                else { return -1 }
                return records.count
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while try await records() == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try await records() == 1)
            let retry = try await app.send(.post, Self.path, json: body, headers: Self.auth)
            #expect(retry.status == 200 && retry.data?["replayed"] == .bool(true))
            #expect(try await records() == 1)
        }
    }

    @Test("a client that shuts its sending side after the request still gets the answer, from either path")
    func halfClosed() async throws {
        try await Self.serving { _, port in
            for target in [Self.path, Self.routed] {
                let answers = await Self.answers(port: port, deduction: target, user: "fp-h", halfClose: true)
                #expect(answers.map { $0.prefix(3) } == ["200"], "\(target): \(answers)")
                #expect(answers.first?.contains(#""replayed":false"#) == true, "\(target)")
            }
            // A deduction and a routed request behind it, then the half-close: both answered, in order.
            let answers = await Self.answers(
                port: port, deduction: Self.path, user: "fp-h", then: "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
                halfClose: true)
            #expect(answers.map { $0.prefix(3) } == ["200", "200"], "\(answers)")
            #expect(answers.first?.contains(#""replayed":false"#) == true, "the deduction's answer first")
        }
    }

    @Test("malformed bytes after a deduction: the deduction is answered first, then the 400, from either path")
    func malformedBehind() async throws {
        try await Self.serving { _, port in
            for target in [Self.path, Self.routed] {
                let answers = await Self.answers(port: port, deduction: target, user: "fp-m", then: "NOT HTTP AT ALL\r\n\r\n")
                #expect(answers.map { $0.prefix(3) } == ["200", "400"], "\(target): \(answers)")
                #expect(answers.first?.contains(#""replayed":false"#) == true, "\(target)")
            }
        }
    }

    /// A fresh deduction of `user` sent to `deduction` over a raw socket, `then` bytes behind
    /// it, the sending side shut if `halfClose`; the answers up to the server's close, each
    /// from its status code on (answers follow each other without a line break after a body).
    static func answers(
        port: Int, deduction target: String, user: String, then trailing: String = "", halfClose: Bool = false
    ) async -> [Substring] {
        let body = #"{"user_id": "\#(user)", "service_name": "passport", "count": 1, "request_id": "\#(UUID())"}"#
        let wire = rawDeduction(target, body: body) + trailing
        let answer = await RawSocket.exchanged(port: port, bytes: Array(wire.utf8), halfClose: halfClose, quietSeconds: 20)
        return Array(String(decoding: answer, as: UTF8.self).components(separatedBy: "HTTP/1.1 ").dropFirst().map { Substring($0) })
    }

    @Test("with the per-call strategy (no lanes to call back) the router answers the deduction")
    func perCallStrategy() async throws {
        try await Self.serving(["BILLING_DEDUCTION_STRATEGY": "per_call"]) { app, _ in
            let reply = try await app.send(
                .post, Self.path, json: #"{"user_id": "fp-c", "service_name": "passport", "count": 1, "request_id": "c1"}"#,
                headers: Self.auth)
            #expect(reply.status == 200 && reply.data?["freeCount"]?.int64 == 1)
            #expect(try await Self.requestsCounted(app, status: 200) == 1)
        }
    }
}

@testable import BillingApp
import Foundation
import Testing

@Suite("JSON kept as text")
struct JSONTests {
    @Test("numbers keep their exact text and values round-trip")
    func numbersAsText() throws {
        let value = try JSONParser.parse(Array(#"{"a": 12.30, "b": [1, -0.5e3, true, null], "c": "x\"y\u00e9\ud83d\ude00"}"#.utf8))
        #expect(value["a"] == .number("12.30"))
        #expect(value["b"] == .array([.number("1"), .number("-0.5e3"), .bool(true), .null]))
        #expect(value["c"] == .string("x\"yé😀"))
        #expect(try JSONParser.parse(Array(value.serialized().utf8)) == value)
    }

    @Test("any string survives writing and parsing: escapes, control characters, every plane")
    func stringsRoundTrip() throws {
        var random = SystemRandomNumberGenerator()
        let pool: [Unicode.Scalar] = ["a", "\"", "\\", "/", "\n", "\r", "\t", "\u{00}", "\u{1F}", "\u{7F}", "é", "中", "😀"]
        for _ in 0..<500 {
            var text = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...12, using: &random) { text.append(pool.randomElement(using: &random)!) }
            let value = JSONValue.object([(String(text), .array([.string(String(text)), .number("1")]))])
            let bytes = value.serializedBytes()
            #expect(!bytes.contains { $0 < 0x20 }, "control characters are escaped")
            #expect(try JSONParser.parse(bytes) == value)
        }
        #expect(JSONValue.string("a\u{01}\"\\\n").serialized() == #""a\u0001\"\\\n""#)
    }

    @Test(
        "malformed JSON is rejected with a position",
        arguments: [
            "", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "\"\u{01}\"", "{} {}", "tru", "[\"\\ud800\"]",
        ])
    func malformed(text: String) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test("deep nesting is refused instead of exhausting the stack")
    func depth() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test("fields are found in snake_case or camelCase, and wrong types name the field")
    func fields() throws {
        let body = try JSONParser.parse(Array(#"{"userId": "u1", "page_size": 5, "count": "5", "amount": "12.34"}"#.utf8))
        let fields = try RequestFields(body: body, query: ["service_name": "passport"])
        #expect(try fields.string("user_id") == "u1")
        #expect(try fields.int("page_size") == 5)
        #expect(try fields.string("serviceName") == nil)
        #expect(try fields.string("service_name") == "passport")
        #expect(throws: (any Error).self) { try fields.int64("count") }
        #expect(try fields.amount()?.value == 1234)
        let names = ["user_id", "monthly_spend_cap_fen", "count", "a_b", "x_", "_y"]
        #expect(names.map(RequestFields.camelCase) == ["userId", "monthlySpendCapFen", "count", "aB", "x", "Y"])
    }
}

@Suite("RFC 3339 timestamps without a calendar")
struct RFC3339Tests {
    @Test(
        "formatting matches known instants",
        arguments: [
            (0.0, "1970-01-01T00:00:00.000Z"), (1_795_000_000.123, "2026-11-18T11:06:40.123Z"),
            (951_782_400, "2000-02-29T00:00:00.000Z"), (-1.5, "1969-12-31T23:59:58.500Z"),
            (4_102_444_799.999, "2099-12-31T23:59:59.999Z"),
        ] as [(Double, String)])
    func format(seconds: Double, text: String) {
        #expect(RFC3339.format(Date(timeIntervalSince1970: seconds)) == text)
    }
}

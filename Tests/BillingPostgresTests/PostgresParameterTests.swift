@testable import BillingPostgres
import Testing
import TestSupport

/// Arrays sent in PostgreSQL's binary format arrive as the same arrays their text literals
/// make: PostgreSQL prints each back as text, compared with what it makes of the literal.
@Suite("Binary array parameters, against the real PostgreSQL", .timeLimit(.minutes(1)))
struct PostgresParameterTests {
    static let cases: [(PostgresParameter, String)] = [
        (.int64s([]), "bigint"),
        (.int64s([0, 1, -1, Int64.max, Int64.min, 42]), "bigint"),
        (.optionalInt64s([nil]), "bigint"),
        (.optionalInt64s([7, nil, Int64.min, nil]), "bigint"),
        (.strings([]), "text"),
        (.strings(["u1", "", "a\"b", #"back\slash"#, "{braces,comma}", "NULL", "汉字 ✓", "tab\tnew\nline"]), "text"),
        (.texts([nil, "x", nil, "", "O'Brien"]), "text"),
    ]

    @Test("each array reads as its text literal reads", arguments: Self.cases)
    func sameArray(parameter: PostgresParameter, element: String) throws {
        let connection = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { connection.close() }
        #expect(parameter.isBinary)
        // In one pipeline: the array as sent, beside a scalar text parameter (mixed formats),
        // and the same array as a text literal.
        let results = try connection.pipeline([
            .sql("SELECT $1::\(element)[]::text, $2::text, cardinality($1::\(element)[])", values: [parameter, .text("after")]),
            .sql("SELECT $1::\(element)[]::text", [parameter.text]),
        ])
        #expect(try results[0][0].string(0) == results[1][0].string(0))
        #expect(try results[0][0].string(1) == "after")
    }
}

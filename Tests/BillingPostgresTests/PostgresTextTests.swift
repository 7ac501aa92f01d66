@testable import BillingPostgres
import Testing
import TestSupport

@Suite("Array literals of the lane parameters, read back by PostgreSQL", .timeLimit(.minutes(1)))
struct PostgresTextTests {
    @Test("bigint[] literals: extremes, zero, negatives and NULLs come back as written")
    func int64Arrays() throws {
        let values: [Int64] = [0, 1, -1, 9, 10, -10, 1_234_567_890, Int64.max, Int64.min, Int64.min + 1, 1_000_000]
        #expect(PostgresText.int64Array(values) == "{" + values.map(String.init).joined(separator: ",") + "}")
        #expect(PostgresText.int64Array([Int64]()) == "{}")
        #expect(PostgresText.int64Array([nil, 5, nil] as [Int64?]) == "{NULL,5,NULL}")
        let connection = try PostgresConnection.connect(TestEnvironment.postgres)
        defer { connection.close() }
        let back = try connection.query("SELECT $1::bigint[]::text", [PostgresText.int64Array(values)])[0].string(0)
        #expect(try PostgresText.parseInt64Array(back) == values)
        let withNulls = try connection.query(
            "SELECT array_position($1::bigint[], NULL), cardinality($1::bigint[])", [PostgresText.int64Array([7, nil])])
        #expect(try withNulls[0].int64(0) == 2 && withNulls[0].int64(1) == 2)
    }
}

import CLibPQ

/// A query's rows, copied out of the `PGresult` as text (or NULL).
public struct PostgresRows: Sendable {
    public let columns: [String]
    public let rows: [[String?]]
    /// Rows affected, for INSERT/UPDATE/DELETE.
    public let affectedRows: Int

    init(copying result: OpaquePointer) {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            rows.append(
                (0..<Int32(columnCount)).map { column in
                    PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
                })
        }
        self.rows = rows
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    public var isEmpty: Bool { rows.isEmpty }

    public subscript(row: Int) -> PostgresRow { PostgresRow(values: rows[row], columns: columns) }

    public var all: [PostgresRow] { rows.map { PostgresRow(values: $0, columns: columns) } }
}

/// One row with typed accessors that fail loudly on a type the schema does not allow.
public struct PostgresRow: Sendable {
    let values: [String?]
    let columns: [String]

    public func string(_ column: Int) throws(PostgresError) -> String {
        guard let value = values[column] else { throw unexpected(column, "NULL") }
        return value
    }

    public func optionalString(_ column: Int) -> String? { values[column] }

    public func int64(_ column: Int) throws(PostgresError) -> Int64 {
        guard let text = values[column], let value = Int64(text) else { throw unexpected(column, "not an integer") }
        return value
    }

    public func optionalInt64(_ column: Int) throws(PostgresError) -> Int64? {
        guard values[column] != nil else { return nil }
        return try int64(column)
    }

    public func bool(_ column: Int) throws(PostgresError) -> Bool {
        switch values[column] {
        case "t": return true
        case "f": return false
        default: throw unexpected(column, "not a boolean")
        }
    }

    private func unexpected(_ column: Int, _ what: String) -> PostgresError {
        PostgresError(.protocolViolation, detail: "column \(columns[column]): \(what)")
    }
}

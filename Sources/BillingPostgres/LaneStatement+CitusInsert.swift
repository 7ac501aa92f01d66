extension LaneStatement {
    /// Citus writes `INSERT … SELECT … FROM unnest(…)` through the coordinator with COPY, and
    /// every COPY commits with two-phase commit, even into one shard. A multi-row
    /// `INSERT … VALUES` of one shard's rows is routed to that shard as it stands, so the
    /// batch stays a one-worker transaction with a plain COMMIT. The rows are the same
    /// arrays the PostgreSQL form takes, taken apart: `#k` in a row template stands for row
    /// i's element of array parameter k, `@k` for scalar parameter k.
    var citusRows: (head: String, row: String, tail: String)? {
        switch self {
        case .ensureBalances:
            ("INSERT INTO user_balance (user_id)", "#1", "ON CONFLICT DO NOTHING RETURNING user_id")
        case .insertQuotas:
            (
                "INSERT INTO free_quota (user_id, period, service_name, total, used, held)",
                "#2, #1, #3, #4::bigint, #5::bigint, #6::bigint", Self.quotaUpsert
            )
        case .insertHolds:
            (
                """
                INSERT INTO hold (user_id, hold_id, service_name, app_id, count, ttl_seconds, period, free_held, paid_held,
                    held_fen, price_micro_fen, price_version, price_override, status, created_at, expires_at)
                """,
                """
                #1, #2, #3, #4, #5::bigint, #6::bigint, #7, #8::bigint, #9::bigint, #10::bigint, #11::bigint, #12::bigint,
                #13::bigint, 'pending', to_timestamp(#14::bigint / 1000000.0), to_timestamp(#15::bigint / 1000000.0)
                """,
                ""
            )
        case .insertRecords:
            (
                """
                INSERT INTO billing_record (id, user_id, service_name, app_id, type, count, amount_fen, request_id,
                    period, created_at, price_micro_fen, price_version, price_override, hold_id, refers_to,
                    balance_after_fen, free_remaining_after, available_after_fen, paired_record_id)
                """,
                """
                #2::bigint, #3, #4, #5, #6::smallint, #7::bigint, #8::bigint, #9, #10, to_timestamp(@1::bigint / 1000000.0),
                #11::bigint, #12::bigint, #13::bigint, #14, #15::bigint[], #16::bigint, #17::bigint, #18::bigint,
                #19::bigint
                """,
                ""
            )
        case .insertRefunds:
            (
                """
                INSERT INTO refund (user_id, refund_id, target_kind, target_id, count, reason, paid_refunded,
                    free_refunded, free_returned, fen_returned, balance_after_fen, record_ids)
                """,
                """
                #1, #2, #3, #4, #5::bigint, #6, #7::bigint, #8::bigint, #9::bigint, #10::bigint, #11::bigint,
                #12::bigint[]
                """,
                ""
            )
        case .insertAdjustments:
            (
                """
                INSERT INTO adjustment (user_id, adjustment_id, amount_fen, reason, operator, balance_after_fen,
                    available_after_fen, record_id)
                """,
                "#1, #2, #3::bigint, #4, #5, #6::bigint, #7::bigint, #8::bigint",
                ""
            )
        default:
            nil
        }
    }

    /// The pipeline steps that run this statement with `parameters`: the prepared statement,
    /// or on Citus for an insert, `INSERT … VALUES` (split so no statement passes the
    /// protocol's 65,535 parameters).
    func steps(_ parameters: [String?], citus: Bool) throws(PostgresError) -> [PipelineStep] {
        guard citus, let rows = citusRows else { return [.prepared(rawValue, parameters)] }
        return try CitusValues.steps(head: rows.head, row: rows.row, tail: rows.tail, parameters: parameters)
    }
}

/// Builds multi-row `INSERT … VALUES` statements from array parameters.
enum CitusValues {
    static let maxParameters = 60_000

    private enum Piece {
        case text(String)
        case element(Int)
        case scalar(Int)
    }

    static func steps(head: String, row: String, tail: String, parameters: [String?]) throws(PostgresError)
        -> [PipelineStep]
    {
        let pieces = parse(row)
        var columns: [Int: [String?]] = [:]
        var scalars: [Int] = []
        for piece in pieces {
            switch piece {
            case .element(let k) where columns[k] == nil:
                guard parameters.indices.contains(k - 1), let literal = parameters[k - 1] else {
                    throw PostgresError(.protocolViolation, detail: "array parameter \(k) missing")
                }
                columns[k] = try ArrayLiteral.elements(literal)
            case .scalar(let k) where !scalars.contains(k):
                guard parameters.indices.contains(k - 1) else {
                    throw PostgresError(.protocolViolation, detail: "parameter \(k) missing")
                }
                scalars.append(k)
            default: break
            }
        }
        let rowCount = columns.values.first?.count ?? 0
        guard columns.values.allSatisfy({ $0.count == rowCount }) else {
            throw PostgresError(.protocolViolation, detail: "array parameters of different lengths")
        }
        guard rowCount > 0 else { return [] }
        let perRow = max(1, pieces.filter { if case .element = $0 { true } else { false } }.count)
        let rowsPerStatement = max(1, (maxParameters - scalars.count) / perRow)
        var steps: [PipelineStep] = []
        var start = 0
        while start < rowCount {
            let end = min(rowCount, start + rowsPerStatement)
            var values: [String?] = scalars.map { parameters[$0 - 1] }
            var sql = head + " VALUES "
            for index in start..<end {
                if index > start { sql += ", " }
                sql += "("
                for piece in pieces {
                    switch piece {
                    case .text(let text): sql += text
                    case .element(let k):
                        values.append(columns[k]?[index] ?? nil)
                        sql += "$\(values.count)"
                    case .scalar(let k):
                        sql += "$\((scalars.firstIndex(of: k) ?? 0) + 1)"
                    }
                }
                sql += ")"
            }
            steps.append(.sql(tail.isEmpty ? sql : sql + " " + tail, values))
            start = end
        }
        return steps
    }

    /// `#k` and `@k` markers (k a decimal number) between plain text.
    private static func parse(_ template: String) -> [Piece] {
        var pieces: [Piece] = []
        var text = ""
        var characters = template[...]
        while let character = characters.first {
            characters = characters.dropFirst()
            guard character == "#" || character == "@" else {
                text.append(character)
                continue
            }
            let digits = characters.prefix { $0.isASCII && $0.isNumber }
            characters = characters.dropFirst(digits.count)
            if !text.isEmpty { pieces.append(.text(text)) }
            text = ""
            let number = Int(digits) ?? 0
            pieces.append(character == "#" ? .element(number) : .scalar(number))
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        return pieces
    }
}

/// The elements of a one-dimensional array literal as `PostgresText` writes them: quoted
/// elements with backslash escapes, bare tokens, `NULL`.
enum ArrayLiteral {
    static func elements(_ literal: String) throws(PostgresError) -> [String?] {
        let bytes = Array(literal.utf8)
        guard bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") else {
            throw PostgresError(.protocolViolation, detail: "not an array literal")
        }
        var elements: [String?] = []
        var index = 1
        let end = bytes.count - 1
        if index == end { return [] }
        while index <= end {
            var element: [UInt8] = []
            var quoted = false
            if bytes[index] == UInt8(ascii: "\"") {
                quoted = true
                index += 1
                while index < end, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                    guard index < end else { break }
                    element.append(bytes[index])
                    index += 1
                }
                guard index < end else { throw PostgresError(.protocolViolation, detail: "unterminated array element") }
                index += 1
            } else {
                while index < end, bytes[index] != UInt8(ascii: ",") {
                    element.append(bytes[index])
                    index += 1
                }
            }
            let text = String(decoding: element, as: UTF8.self)
            elements.append(!quoted && text == "NULL" ? nil : text)
            guard index == end || bytes[index] == UInt8(ascii: ",") else {
                throw PostgresError(.protocolViolation, detail: "malformed array literal")
            }
            index += 1
        }
        return elements
    }
}

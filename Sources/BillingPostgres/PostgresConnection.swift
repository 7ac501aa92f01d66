import CLibPQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection. It owns its `PGconn*` alone and frees it exactly once.
///
/// `@unchecked Sendable` because the pointer moves between threads: a connection is used
/// by one caller at a time (a lane's thread, or the holder of a pool lease), never
/// concurrently, and every blocking call runs on such a thread, never on an event loop.
public final class PostgresConnection: @unchecked Sendable {
    private var raw: OpaquePointer?

    private init(raw: OpaquePointer) { self.raw = raw }

    /// For this module's extensions; never stored elsewhere.
    var rawConnection: OpaquePointer? { raw }

    deinit {
        if let raw { PQfinish(raw) }
    }

    public static func connect(_ config: PostgresConfig) throws(PostgresError) -> PostgresConnection {
        var parameters: [(String, String)] = [
            ("host", config.host), ("port", String(config.port)), ("user", config.user),
            ("dbname", config.database), ("connect_timeout", String(config.connectTimeoutSeconds)),
            ("application_name", config.applicationName), ("client_encoding", "UTF8"),
            ("keepalives", "1"), ("keepalives_idle", String(config.keepaliveIdleSeconds)),
            ("keepalives_interval", "10"), ("keepalives_count", "3"),
        ]
        if let password = config.password { parameters.append(("password", password)) }
        // Server notices ("… already exists, skipping") would go to stderr; warnings still do.
        var options = "-c client_min_messages=warning"
        if let schema = config.schema { options += " -c search_path=\(schema)" }
        if let lock = config.lockTimeoutMilliseconds { options += " -c lock_timeout=\(lock)" }
        if let statement = config.statementTimeoutMilliseconds { options += " -c statement_timeout=\(statement)" }
        // A transaction left open by a vanished client must not keep its row locks.
        options += " -c idle_in_transaction_session_timeout=60000"
        parameters.append(("options", options))
        let raw = withCStrings(parameters.map(\.0)) { keywords in
            withCStrings(parameters.map(\.1)) { values in
                PQconnectdbParams(keywords, values, 0)
            }
        }
        guard let raw else { throw PostgresError(.connectionFailed, detail: "out of memory") }
        guard PQstatus(raw) == CONNECTION_OK else {
            let detail = String(cString: PQerrorMessage(raw))
            PQfinish(raw)
            throw PostgresError(.connectionFailed, detail: detail)
        }
        return PostgresConnection(raw: raw)
    }

    public var isOpen: Bool {
        guard let raw else { return false }
        return PQstatus(raw) == CONNECTION_OK
    }

    /// Whether the connection can still be used, noticing a server that closed it while it
    /// sat idle (a terminated backend or a restart): reading what the server sent in the
    /// meantime, without blocking, lets libpq see the close.
    public var isAlive: Bool {
        guard let raw, PQstatus(raw) == CONNECTION_OK else { return false }
        // The first read takes the server's farewell message, the second meets the end of file.
        for _ in 0..<2 where PQconsumeInput(raw) != 1 { return false }
        return PQstatus(raw) == CONNECTION_OK
    }

    /// The server process id, e.g. to terminate this connection in a fault test.
    public var backendPID: Int32 {
        guard let raw else { return 0 }
        return PQbackendPID(raw)
    }

    public func close() {
        if let raw { PQfinish(raw) }
        raw = nil
    }

    /// Runs one statement with text parameters bound by position ($1, $2, …).
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresRows {
        guard let raw else { throw PostgresError(.connectionLost, detail: "connection closed") }
        let result = withOptionalCStrings(parameters) { values in
            PQexecParams(raw, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try consume(result)
    }

    /// Runs SQL text that may hold several statements and takes no parameters
    /// (migration files). Never use it with values from outside.
    public func run(script sql: String) throws(PostgresError) {
        guard let raw else { throw PostgresError(.connectionLost, detail: "connection closed") }
        try consume(PQexec(raw, sql))
    }

    /// Prepares a named statement once per connection.
    public func prepare(name: String, sql: String) throws(PostgresError) {
        guard let raw else { throw PostgresError(.connectionLost, detail: "connection closed") }
        try consume(PQprepare(raw, name, sql, 0, nil))
    }

    @discardableResult
    public func execute(prepared name: String, _ parameters: [String?]) throws(PostgresError) -> PostgresRows {
        guard let raw else { throw PostgresError(.connectionLost, detail: "connection closed") }
        let result = withOptionalCStrings(parameters) { values in
            PQexecPrepared(raw, name, Int32(parameters.count), values, nil, nil, 0)
        }
        return try consume(result)
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    @discardableResult
    public func transaction<T>(
        isolation: String = "READ COMMITTED", _ body: (PostgresConnection) throws -> T
    ) throws -> T {
        try query("BEGIN ISOLATION LEVEL \(isolation)")
        do {
            let value = try body(self)
            try query("COMMIT")
            return value
        } catch {
            if isOpen { _ = try? query("ROLLBACK") }
            throw error
        }
    }

    /// Copies the result out and clears it, so no `PGresult*` outlives this call.
    @discardableResult
    func consume(_ result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let result else {
            throw PostgresError(connectionFailureIfLost(), detail: errorMessage())
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(copying: result)
        case PGRES_PIPELINE_ABORTED:
            throw PostgresError(.serverError, sqlState: "25P02", detail: "skipped after an earlier error in the pipeline")
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let constraint = PQresultErrorField(result, Int32(UInt8(ascii: "n"))).map { String(cString: $0) }
            let message = String(cString: PQresultErrorMessage(result))
            if state == nil, !isOpen { throw PostgresError(.connectionLost, detail: message) }
            throw PostgresError(.serverError, sqlState: state, constraint: constraint, detail: message)
        default:
            throw PostgresError(.protocolViolation, detail: String(cString: PQresStatus(PQresultStatus(result))))
        }
    }

    private func connectionFailureIfLost() -> PostgresError.Kind {
        isOpen ? .protocolViolation : .connectionLost
    }

    private func errorMessage() -> String {
        guard let raw else { return "connection closed" }
        return String(cString: PQerrorMessage(raw))
    }
}

/// Calls `body` with a NULL-terminated array of C strings that lives for the call.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    withOptionalCStrings(strings, body)
}

/// Parameters for libpq: their values' pointers, and when any is binary, every value's
/// length and format (1 binary, 0 text; libpq reads text up to its terminating zero). All
/// text: nil lengths and formats, as before.
func withParameterPointers<R>(
    _ parameters: [PostgresParameter],
    _ body: ([UnsafePointer<CChar>?], UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R
) -> R {
    guard parameters.contains(where: \.isBinary) else {
        return withOptionalCStrings(parameters.map(\.text)) { body($0, nil, nil) }
    }
    var bytes: [UInt8] = []
    var offsets: [Int?] = []
    var lengths: [Int32] = []
    var formats: [Int32] = []
    offsets.reserveCapacity(parameters.count)
    lengths.reserveCapacity(parameters.count)
    formats.reserveCapacity(parameters.count)
    for parameter in parameters {
        let start = bytes.count
        if case .text(let text) = parameter {
            guard let text else {
                offsets.append(nil)
                lengths.append(0)
                formats.append(0)
                continue
            }
            bytes.append(contentsOf: text.utf8)
            bytes.append(0)
            formats.append(0)
        } else {
            parameter.appendBinary(to: &bytes)
            formats.append(1)
        }
        offsets.append(start)
        lengths.append(Int32(truncatingIfNeeded: bytes.count - start))
    }
    return withPointers(into: bytes, at: offsets) { pointers in
        lengths.withUnsafeBufferPointer { lengths in
            formats.withUnsafeBufferPointer { formats in body(pointers, lengths.baseAddress, formats.baseAddress) }
        }
    }
}

/// The strings as C strings (nil stays a null pointer), followed by a null pointer: pointers
/// into one buffer holding every string and its terminating zero one after another.
private func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(strings.reduce(1) { $0 + ($1?.utf8.count ?? 0) + 1 })
    var offsets: [Int?] = []
    offsets.reserveCapacity(strings.count)
    for string in strings {
        guard let string else {
            offsets.append(nil)
            continue
        }
        offsets.append(bytes.count)
        bytes.append(contentsOf: string.utf8)
        bytes.append(0)
    }
    return withPointers(into: bytes, at: offsets, body)
}

/// Pointers into `bytes` at `offsets` (nil stays a null pointer), followed by a null
/// pointer, valid for the call.
private func withPointers<R>(into bytes: [UInt8], at offsets: [Int?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    bytes.withUnsafeBytes { buffer in
        var pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
            offset.flatMap { offset in buffer.baseAddress.map { ($0 + offset).assumingMemoryBound(to: CChar.self) } }
        }
        pointers.append(nil)
        return body(pointers)
    }
}

import CLibPQ

/// One statement of a pipeline: a prepared statement by name, or SQL text.
public struct PipelineStep: Sendable {
    let prepared: String?
    let sql: String?
    let parameters: [PostgresParameter]

    public static func prepared(_ name: String, _ parameters: [String?]) -> PipelineStep {
        PipelineStep(prepared: name, sql: nil, parameters: parameters.map(PostgresParameter.text))
    }

    /// Arrays among `values` go in the binary format.
    public static func prepared(_ name: String, values: [PostgresParameter]) -> PipelineStep {
        PipelineStep(prepared: name, sql: nil, parameters: values)
    }

    public static func sql(_ sql: String, _ parameters: [String?] = []) -> PipelineStep {
        PipelineStep(prepared: nil, sql: sql, parameters: parameters.map(PostgresParameter.text))
    }

    public static func sql(_ sql: String, values: [PostgresParameter]) -> PipelineStep {
        PipelineStep(prepared: nil, sql: sql, parameters: values)
    }

    /// Every parameter in its text form.
    var textParameters: [String?] { parameters.map(\.text) }
}

extension PostgresConnection {
    /// Sends every step at once and reads the results in order: one round trip instead of
    /// one per statement (libpq pipeline mode). When a step fails, the server skips the
    /// rest up to the sync point; the first error is thrown after all results are read,
    /// so the connection is left in step.
    public func pipeline(_ steps: [PipelineStep]) throws(PostgresError) -> [PostgresRows] {
        var received: [PostgresRows] = []
        try pipeline(steps, received: &received)
        return received
    }

    /// `pipeline`, its results in `received`; when it throws, `received` holds the results of
    /// the steps before the first that failed (or before the connection broke), so a caller
    /// can tell which step that was and use what came before it.
    public func pipeline(_ steps: [PipelineStep], received results: inout [PostgresRows]) throws(PostgresError) {
        results = []
        guard let raw = rawConnection else { throw PostgresError(.connectionLost, detail: "connection closed") }
        guard PQenterPipelineMode(raw) == 1 else { throw lostOrProtocol(raw, "cannot enter pipeline mode") }
        defer { PQexitPipelineMode(raw) }

        for step in steps {
            let sent = withParameterPointers(step.parameters) { values, lengths, formats -> Int32 in
                let count = Int32(step.parameters.count)
                if let name = step.prepared {
                    return PQsendQueryPrepared(raw, name, count, values, lengths, formats, 0)
                }
                return PQsendQueryParams(raw, step.sql ?? "", count, nil, values, lengths, formats, 0)
            }
            guard sent == 1 else { throw lostOrProtocol(raw, "cannot send a pipelined statement") }
        }
        guard PQpipelineSync(raw) == 1 else { throw lostOrProtocol(raw, "cannot send the pipeline sync") }

        var firstError: PostgresError?
        for _ in steps {
            guard let result = PQgetResult(raw) else { throw lostOrProtocol(raw, "pipeline result missing") }
            do {
                let rows = try consume(result)
                if firstError == nil { results.append(rows) }
            } catch {
                firstError = firstError ?? error
            }
            // Each statement's results end with a NULL.
            while let extra = PQgetResult(raw) { PQclear(extra) }
        }
        guard let sync = PQgetResult(raw) else { throw lostOrProtocol(raw, "pipeline sync missing") }
        let syncStatus = PQresultStatus(sync)
        PQclear(sync)
        guard syncStatus == PGRES_PIPELINE_SYNC else { throw lostOrProtocol(raw, "pipeline out of step") }
        if let firstError { throw firstError }
    }

    private func lostOrProtocol(_ raw: OpaquePointer, _ what: String) -> PostgresError {
        let detail = "\(what): \(String(cString: PQerrorMessage(raw)))"
        return PQstatus(raw) == CONNECTION_OK
            ? PostgresError(.protocolViolation, detail: detail) : PostgresError(.connectionLost, detail: detail)
    }
}

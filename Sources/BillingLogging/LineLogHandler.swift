import BillingCore
import Foundation
import Logging
import Synchronization

/// How a log line is written: `key=value` pairs or one JSON object.
public enum LogFormat: String, Sendable, CaseIterable {
    case keyValue = "key_value"
    case json
}

/// One line per event, `ts`, `level`, `label` and `msg` first, then the metadata (the
/// request id among it while a request is served). Values with spaces, quotes or line
/// breaks are quoted and escaped, so a line is always one line and parses back.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let format: LogFormat
    private let sink: LogSink

    public init(
        label: String, format: LogFormat, level: Logger.Level = .info, sink: LogSink = .standardOutput,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        // Hummingbird's own id is replaced by the request id (the caller's when it sent one).
        if merged["request_id"] != nil { merged["hb.request.id"] = nil }
        let head: [(String, String)] = [
            ("ts", Self.timestamp()), ("level", event.level.rawValue), ("label", label), ("msg", "\(event.message)"),
        ]
        let tail = merged.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
        sink.write(Self.line(head + tail, format: format))
    }

    /// The text of one line (without the newline).
    public static func line(_ fields: [(String, String)], format: LogFormat) -> String {
        switch format {
        case .keyValue:
            return fields.map { key, value in "\(key)=\(quotedIfNeeded(value))" }.joined(separator: " ")
        case .json:
            return "{" + fields.map { key, value in "\(JSONString.literal(key)):\(JSONString.literal(value))" }.joined(separator: ",") + "}"
        }
    }

    static func quotedIfNeeded(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar != "\"" && scalar != "=" && scalar != "\\" && scalar.value != 0x7F
        }
        return plain ? value : JSONString.literal(value)
    }

    static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}

/// Where lines go: standard output (the journal under systemd), or a closure (tests).
public struct LogSink: Sendable {
    let write: @Sendable (String) -> Void

    public init(_ write: @escaping @Sendable (String) -> Void) { self.write = write }

    func write(_ line: String) { write(line) }

    /// Whole lines only, even when several threads log at once.
    public static let standardOutput: LogSink = {
        let lock = Mutex(())
        return LogSink { line in
            let bytes = Array((line + "\n").utf8)
            lock.withLock { _ in
                bytes.withUnsafeBytes { buffer in
                    guard let base = buffer.baseAddress else { return }
                    var offset = 0
                    while offset < buffer.count {
                        let written = Foundation.write(1, base + offset, buffer.count - offset)
                        if written <= 0 { break }
                        offset += written
                    }
                }
            }
        }
    }()
}

/// The id of the request being served, for every log line written while it is: set by the
/// HTTP and gRPC layers, read by `BillingLogging.requestIdProvider`.
public enum RequestLogContext {
    @TaskLocal public static var requestId: String?
}

public enum BillingLogging {
    /// Adds `request_id` to every line logged inside a request's task.
    public static let requestIdProvider = Logger.MetadataProvider {
        RequestLogContext.requestId.map { ["request_id": .string($0)] } ?? [:]
    }

    /// Once per process, before anything logs: every logger writes `format` lines at `level`.
    public static func bootstrap(format: LogFormat, level: Logger.Level) {
        LoggingSystem.bootstrap(
            { label, provider in
                LineLogHandler(label: label, format: format, level: level, metadataProvider: provider)
            }, metadataProvider: requestIdProvider)
    }
}

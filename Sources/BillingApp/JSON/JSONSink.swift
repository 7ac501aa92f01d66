/// Where an object's members go, in order: into a `JSONValue` tree (`JSONMembers`), or
/// straight to UTF-8 (`JSONObjectBytes`). A view written against it has one shape for both:
/// the answers every deduction gets are written as bytes at once, without building a tree
/// of arrays and strings first (issue 19).
protocol JSONSink {
    mutating func member(_ name: String, _ value: JSONValue)
    mutating func member(_ name: String, int value: Int64)
}

/// Members collected for `JSONValue.object`.
struct JSONMembers: JSONSink {
    var members: [(String, JSONValue)] = []

    init(capacity: Int) { members.reserveCapacity(capacity) }

    mutating func member(_ name: String, _ value: JSONValue) { members.append((name, value)) }
    mutating func member(_ name: String, int value: Int64) { members.append((name, .int(value))) }
}

/// An object written as `JSONValue.object(…).serializedBytes()` writes it.
struct JSONObjectBytes: JSONSink {
    private(set) var output: [UInt8]
    private var first = true

    private init() { output = [] }

    /// Writes `{`, the members `fill` gives, `}` to the end of `output`.
    static func object(into output: inout [UInt8], _ fill: (inout JSONObjectBytes) -> Void) {
        output.append(UInt8(ascii: "{"))
        var sink = JSONObjectBytes()
        swap(&sink.output, &output)
        fill(&sink)
        swap(&sink.output, &output)
        output.append(UInt8(ascii: "}"))
    }

    private mutating func name(_ name: String) {
        if !first { output.append(UInt8(ascii: ",")) }
        first = false
        JSONValue.writeString(name, to: &output)
        output.append(UInt8(ascii: ":"))
    }

    mutating func member(_ name: String, _ value: JSONValue) {
        self.name(name)
        value.write(to: &output)
    }

    mutating func member(_ name: String, int value: Int64) {
        self.name(name)
        JSONValue.writeDigits(value, to: &output)
    }
}

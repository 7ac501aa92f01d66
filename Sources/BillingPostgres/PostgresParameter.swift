/// A statement parameter: text, which PostgreSQL parses as the parameter's type, or an
/// array sent in PostgreSQL's binary array format (`array_recv`): no digits or quotes
/// written here and none parsed there. The lane statements carry one array per column of a
/// batch's rows — hundreds of elements each, for every batch.
public enum PostgresParameter: Sendable, Equatable {
    case text(String?)
    /// A `bigint[]` parameter.
    case int64s([Int64])
    /// A `bigint[]` parameter with NULLs.
    case optionalInt64s([Int64?])
    /// A `text[]` parameter.
    case strings([String])
    /// A `text[]` parameter (NULL where nil).
    case texts([String?])

    /// The text form, for a statement rewritten as text (as on Citus, `CitusValues`).
    public var text: String? {
        switch self {
        case .text(let text): text
        case .int64s(let values): PostgresText.int64Array(values)
        case .optionalInt64s(let values): PostgresText.int64Array(values)
        case .strings(let values): PostgresText.textArray(values)
        case .texts(let values): PostgresText.textArray(values)
        }
    }

    var isBinary: Bool {
        if case .text = self { return false }
        return true
    }

    /// The binary form (`isBinary` only): a one-dimensional array from index 1 — dimensions,
    /// a has-NULLs flag, the element type's OID, the size and lower bound, then each element
    /// as its length (-1 for NULL) and bytes, every integer big-endian. An empty array has no
    /// dimensions. Counts and lengths fit in 32 bits: a batch holds at most thousands of rows
    /// and its strings come from bodies of at most a few MiB.
    func appendBinary(to bytes: inout [UInt8]) {
        switch self {
        case .text: return
        case .int64s(let values): Self.array(values.lazy.map(Optional.some), of: Self.int8OID, to: &bytes, Self.int8)
        case .optionalInt64s(let values): Self.array(values, of: Self.int8OID, to: &bytes, Self.int8)
        case .strings(let values): Self.array(values.lazy.map(Optional.some), of: Self.textOID, to: &bytes, Self.utf8)
        case .texts(let values): Self.array(values, of: Self.textOID, to: &bytes, Self.utf8)
        }
    }

    private static func array<Values: Collection<Element?>, Element>(
        _ values: Values, of elementType: Int32, to bytes: inout [UInt8], _ element: (Element, inout [UInt8]) -> Void
    ) {
        header(count: values.count, hasNull: values.contains { $0 == nil }, elementType: elementType, to: &bytes)
        for value in values {
            // A NULL element is its length alone, -1.
            guard let value else {
                append(Int32(-1), to: &bytes)
                continue
            }
            element(value, &bytes)
        }
    }

    private static func int8(_ value: Int64, to bytes: inout [UInt8]) {
        append(Int32(8), to: &bytes)
        append(value, to: &bytes)
    }

    private static func utf8(_ value: String, to bytes: inout [UInt8]) {
        append(Int32(truncatingIfNeeded: value.utf8.count), to: &bytes)
        bytes.append(contentsOf: value.utf8)
    }

    static let int8OID: Int32 = 20
    static let textOID: Int32 = 25

    private static func header(count: Int, hasNull: Bool, elementType: Int32, to bytes: inout [UInt8]) {
        bytes.reserveCapacity(bytes.count + 20 + count * 12)
        append(Int32(count == 0 ? 0 : 1), to: &bytes)
        append(Int32(hasNull ? 1 : 0), to: &bytes)
        append(elementType, to: &bytes)
        guard count > 0 else { return }
        append(Int32(truncatingIfNeeded: count), to: &bytes)
        append(Int32(1), to: &bytes)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
}

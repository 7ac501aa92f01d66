import BillingCore
import Foundation

/// Text forms of values as they cross into and out of SQL parameters.
enum PostgresText {
    /// `timestamptz` as microseconds since the epoch, the form every query selects.
    static func microseconds(_ date: Date) -> String {
        String(Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }

    /// A `timestamptz` parameter: `to_timestamp($n::bigint / 1e6)` on the SQL side.
    static func date(microseconds: Int64) -> Date {
        Date(timeIntervalSince1970: TimeInterval(microseconds) / 1_000_000)
    }

    /// A PostgreSQL array literal of text values, quoted so any character is safe.
    /// Built byte by byte: this runs for every column of every lane batch.
    static func textArray(_ values: [String?]) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(values.count * 16 + 2)
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let value else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in value.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    static func int64Array(_ values: [Int64]) -> String {
        int64Array(values.count) { values[$0] }
    }

    /// A bigint[] literal with NULLs for the missing values.
    static func int64Array(_ values: [Int64?]) -> String {
        int64Array(values.count) { values[$0] }
    }

    /// Digits written straight into one buffer (no String per number): like `textArray`, this
    /// runs for most columns of every lane batch.
    private static func int64Array(_ count: Int, _ value: (Int) -> Int64?) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(count * 8 + 2)
        var digits: [UInt8] = Array(repeating: 0, count: 20)
        for index in 0..<count {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let number = value(index) else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            if number < 0 { bytes.append(UInt8(ascii: "-")) }
            // The magnitude, so Int64.min needs no negation.
            var rest = number.magnitude
            var end = digits.count
            repeat {
                end -= 1
                digits[end] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: digits[end...])
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Lists of numbers for one array column of many rows, as three parameters: every value
    /// in one flat array, and each row's slice of it (1-based, inclusive; an empty list is a
    /// slice that ends before it starts, a missing one NULL bounds). Updates read a row's
    /// list as `flat[low:high]`: a subscript, where casting a text literal per row would call
    /// `array_in`, a STABLE function Citus refuses next to column references in an UPDATE.
    static func slicedArrays(_ lists: [[Int64]?]) -> (flat: String, low: String, high: String) {
        var flat: [Int64] = []
        var low: [Int64?] = []
        var high: [Int64?] = []
        for list in lists {
            guard let list else {
                low.append(nil)
                high.append(nil)
                continue
            }
            low.append(Int64(flat.count + 1))
            flat.append(contentsOf: list)
            high.append(Int64(flat.count))
        }
        return (int64Array(flat), int64Array(low), int64Array(high))
    }

    /// Parses `{1,2,3}` as produced by PostgreSQL for a bigint[].
    static func parseInt64Array(_ text: String) throws(PostgresError) -> [Int64] {
        let inner = text.dropFirst().dropLast()
        guard text.hasPrefix("{"), text.hasSuffix("}") else {
            throw PostgresError(.protocolViolation, detail: "not an array: \(text)")
        }
        if inner.isEmpty { return [] }
        var values: [Int64] = []
        for part in inner.split(separator: ",") {
            guard let value = Int64(part) else { throw PostgresError(.protocolViolation, detail: "bad bigint[]") }
            values.append(value)
        }
        return values
    }
}

/// SQL expression turning a microseconds parameter into a timestamptz.
func timestampParameter(_ index: Int) -> String { "to_timestamp($\(index)::bigint / 1000000.0)" }

/// SQL expression selecting a timestamptz column as microseconds since the epoch. Through
/// an interval: `extract(epoch FROM timestamptz)` is STABLE, which Citus refuses in a
/// RETURNING clause; the interval's is IMMUTABLE and just as exact.
func microsecondsColumn(_ column: String) -> String {
    "(extract(epoch FROM (\(column) - to_timestamp(0))) * 1000000)::bigint"
}

@testable import BillingApp
import BillingCore
import Testing

/// Deduction answers are written as bytes at once (`Views.deductionBytes`, `batchBytes`):
/// the bytes must be the ones the `JSONValue` of the same view serializes to, for every
/// shape a receipt can take.
@Suite("Deduction answers written as bytes read as the JSON tree would")
struct DeductionAnswerBytesTests {
    /// Receipts of every shape: no, one or two records; free, paid and mixed; with and
    /// without available money, price, override; replayed or not; odd fen values.
    static func receipts() throws -> [DeductionReceipt] {
        var generator = SystemRandomNumberGenerator()
        var receipts: [DeductionReceipt] = []
        let fens: [Int64] = [0, 1, 9, 10, 99, 100, 101, 12_345, Int64.max, -1, -100, Int64.min + 1]
        for round in 0..<200 {
            let ids = (0..<(round % 3)).map { _ in Int64.random(in: 1...Int64.max, using: &generator) }
            let free = Int64(round % 4 == 0 ? 0 : Int.random(in: 0...1_000, using: &generator))
            let paid = Int64(round % 5 == 0 ? 0 : Int.random(in: 0...1_000, using: &generator))
            let price: AppliedPrice? =
                round % 3 == 0
                ? nil
                : AppliedPrice(
                    price: try UnitPrice(microFen: Int64.random(in: 0...1_000_000_000, using: &generator)),
                    versionId: Int64.random(in: 1...1_000, using: &generator),
                    overrideId: round % 2 == 0 ? nil : Int64.random(in: 1...1_000, using: &generator))
            receipts.append(
                DeductionReceipt(
                    recordIds: ids, freeCount: free, paidCount: paid, costFen: Fen(fens[round % fens.count]),
                    balanceAfterFen: Fen(fens[(round / 2) % fens.count]),
                    freeRemainingAfter: Int64.random(in: 0...Int64.max, using: &generator), replayed: round % 7 == 0,
                    price: price, availableAfterFen: round % 4 == 1 ? nil : Fen(fens[(round / 3) % fens.count])))
        }
        return receipts
    }

    @Test("one deduction's answer: the bytes of okEnvelope(deduction)")
    func single() throws {
        for receipt in try Self.receipts() {
            let tree = APIResponse.okEnvelope(Views.deduction(receipt)).serializedBytes()
            #expect(Views.deductionBytes(receipt) == tree, "\(receipt)")
        }
    }

    @Test("a batch's answer, charged items and refused ones mixed: the bytes of okEnvelope(results)")
    func batch() throws {
        let receipts = try Self.receipts()
        let results: [Result<DeductionReceipt, BillingError>] = receipts.enumerated().map { index, receipt in
            index % 5 == 3 ? .failure(.invalidArgument(field: "count", reason: "must be \"positive\"\n")) : .success(receipt)
        }
        for items in [[], Array(results.prefix(1)), Array(results.prefix(2)), results] {
            let tree = APIResponse.okEnvelope(.object([("results", .array(items.enumerated().map(Views.batchItem)))]))
            #expect(Views.batchBytes(items) == tree.serializedBytes())
        }
    }

    @Test("integers are written as String spells them", arguments: [Int64.min, Int64.min + 1, -100, -1, 0, 1, 9, 10, 99, 1_000_007, Int64.max])
    func digits(value: Int64) {
        var output: [UInt8] = []
        JSONValue.writeDigits(value, to: &output)
        #expect(String(decoding: output, as: UTF8.self) == String(value))
    }
}

import BillingJobs
import Foundation
import Testing
import TestSupport

@Suite("Cron expressions under random input")
struct CronFuzzTests {
    @Test("any text parses or is refused with a reason; a parsed one finds its next time without trapping")
    func randomExpressions() {
        var random = FuzzRandom()
        let fields = ["*", "?", "0", "59", "60", "*/0", "*/-1", "1-0", "5/9223372036854775807", "9223372036854775807",
                      "-1", "1,,2", "MON-SUN", "JAN", "L", "#", "*/1", "0-59/7", "31", "2", ""]
        for _ in 0..<FuzzRandom.cases(3_000) {
            let text: String
            if random.chance(0.7) {
                text = (0..<6).map { _ in random.chance(0.8) ? random.pick(fields) : random.hostileText() }
                    .joined(separator: " ")
            } else {
                text = random.hostileText()
            }
            do {
                let expression = try CronExpression(text)
                if let next = expression.nextFire(after: Date(timeIntervalSince1970: 1_795_000_000), in: .gmt) {
                    #expect(next > Date(timeIntervalSince1970: 1_795_000_000), "seed \(random.seed): \(text)")
                }
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
    }
}

@testable import BillingApp
import Testing

@Suite("A stream's messages taken in groups")
struct StreamInboxTests {
    @Test("what arrived before the taker came is one group, in order, at most maxGroup long")
    func groups() async {
        let inbox = StreamInbox<Int>(maxGroup: 4)
        for message in 1...6 { inbox.push(message) }
        #expect(await inbox.nextGroup() == [1, 2, 3, 4])
        #expect(await inbox.nextGroup() == [5, 6])
        inbox.push(7)
        inbox.finish()
        #expect(await inbox.nextGroup() == [7])
        #expect(await inbox.nextGroup() == nil)
    }

    @Test("a taker waiting on an empty inbox gets the next message, and nil when the stream ends")
    func waiting() async {
        let inbox = StreamInbox<Int>(maxGroup: 100)
        async let first = inbox.nextGroup()
        try? await Task.sleep(for: .milliseconds(50))
        inbox.push(1)
        #expect(await first == [1])
        async let end = inbox.nextGroup()
        try? await Task.sleep(for: .milliseconds(50))
        inbox.finish()
        #expect(await end == nil)
    }

    @Test("every message of many concurrent pushers is taken exactly once")
    func concurrentPushers() async {
        let inbox = StreamInbox<Int>(maxGroup: 64)
        async let taken: [Int] = {
            var all: [Int] = []
            while let group = await inbox.nextGroup() {
                #expect(!group.isEmpty && group.count <= 64)
                all += group
            }
            return all
        }()
        await withTaskGroup(of: Void.self) { group in
            for pusher in 0..<8 {
                group.addTask {
                    for message in 0..<1_000 { inbox.push(pusher * 1_000 + message) }
                }
            }
        }
        inbox.finish()
        #expect(await taken.sorted() == Array(0..<8_000))
    }
}

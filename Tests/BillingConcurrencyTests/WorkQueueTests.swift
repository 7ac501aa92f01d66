import BillingConcurrency
import Foundation
import Testing

@Suite("WorkQueue: bounded, in order, never growing past what waits")
struct WorkQueueTests {
    @Test("items come out in arrival order, at most `max` at a time")
    func order() {
        let queue = WorkQueue<Int>(capacity: 10)
        for item in 0..<7 { #expect(queue.push(item) == nil) }
        #expect(queue.take(max: 3) == [0, 1, 2])
        #expect(queue.take(max: 10) == [3, 4, 5, 6])
    }

    @Test("a full queue refuses at once; a stopped one refuses and drains what it holds")
    func refusals() {
        let queue = WorkQueue<Int>(capacity: 2)
        #expect(queue.push(1) == nil && queue.push(2) == nil)
        #expect(queue.push(3) == .full)
        queue.stop()
        #expect(queue.push(4) == .stopped)
        #expect(queue.take(max: 5) == [1, 2])
        #expect(queue.take(max: 5).isEmpty)
    }

    @Test("under sustained load that never empties it, the storage stays bounded")
    func storageBound() {
        let queue = WorkQueue<Int>(capacity: 512)
        var next = 0
        var expected = 0
        // The consumer always leaves some items behind, as a lane under constant load does.
        for _ in 0..<20_000 {
            while queue.count < 300 {
                #expect(queue.push(next) == nil)
                next += 1
            }
            for item in queue.take(max: 100) {
                #expect(item == expected)
                expected += 1
            }
        }
        #expect(expected == 2_000_000)
        // Waiting ≤ 300 and consumed slots are dropped once they reach half the storage.
        #expect(queue.storageCount <= 2 * 1_024 + 600, "storage \(queue.storageCount)")
    }

    @Test("threads that push while one takes lose nothing and duplicate nothing")
    func concurrent() async {
        let queue = WorkQueue<Int>(capacity: 100_000)
        let producers = 4
        let perProducer = 5_000
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<producers {
                group.addTask {
                    for index in 0..<perProducer { _ = queue.push(producer * perProducer + index) }
                }
            }
        }
        queue.stop()
        var seen = Set<Int>()
        while true {
            let batch = queue.take(max: 64)
            if batch.isEmpty { break }
            for item in batch { #expect(seen.insert(item).inserted) }
        }
        #expect(seen.count == producers * perProducer)
    }
}

// The worker pool: parts are claimed so each runs exactly once whatever the number of parts;
// runOnEachThread really spreads over distinct threads at once; a helper that holds a job up
// (as one that lost its core to another process does) makes the pool run jobs on the caller
// alone for a while, and the helpers are used again afterwards.

import Foundation
import MLPCore
import Synchronization
import Testing

@Suite struct WorkerPoolTests {
  // Pools live until the process ends (their threads hold them): one per test, made once.
  static let three = WorkerPool(threads: 3)
  static let three2 = WorkerPool(threads: 3)
  static let two = WorkerPool(threads: 2)

  @Test func everyPartRunsExactlyOnce() {
    let pool = Self.three
    for parts in [1, 2, 3, 4, 7, 64, 1000] {
      for _ in 0..<50 {
        let counts = Mutex([Int](repeating: 0, count: parts))
        pool.run(parts) { part in counts.withLock { $0[part] += 1 } }
        #expect(counts.withLock { $0 } == [Int](repeating: 1, count: parts), "\(parts) parts")
      }
    }
  }

  @Test func runOnEachThreadUsesDistinctThreadsAtOnce() {
    let pool = Self.three2
    for _ in 0..<20 {
      let threads = Mutex(Set<UInt>())
      pool.runOnEachThread(3) { _ in
        let id = UInt(
          bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: UInt(pthread_self()))))
        threads.withLock { _ = $0.insert(id) }
      }
      #expect(threads.withLock { $0.count } == 3)
    }
  }

  @Test func laggingHelperMakesJobsRunOnTheCallerForAWhile() {
    let pool = Self.two
    let caller = pthread_self()
    // Jobs whose parts take 50 µs on the caller (so a helper has time to wake and claim one)
    // and 2 ms on a helper: the caller then waits for the helper far longer than the lag
    // threshold.
    var lagged = false
    for _ in 0..<200 where !lagged {
      let before = pool.soloJobs
      pool.run(8) { _ in usleep(pthread_equal(pthread_self(), caller) == 0 ? 2000 : 50) }
      pool.run(2) { _ in }
      lagged = pool.soloJobs > before
    }
    #expect(lagged, "no job ran solo after helpers held jobs up")
    // During the solo period (unless this thread lost its core for longer) every part runs on
    // the caller.
    let onCaller = Mutex(0)
    let soloBefore = pool.soloJobs
    pool.run(16) { _ in
      if pthread_equal(pthread_self(), caller) != 0 { onCaller.withLock { $0 += 1 } }
    }
    if pool.soloJobs > soloBefore { #expect(onCaller.withLock { $0 } == 16) }
    // After it (5 ms, doubling; at most 160 ms), the helper takes parts again.
    usleep(400_000)
    let onHelper = Mutex(0)
    for _ in 0..<200 where onHelper.withLock({ $0 }) == 0 {
      pool.run(64) { _ in
        if pthread_equal(pthread_self(), caller) == 0 { onHelper.withLock { $0 += 1 } }
        usleep(20)
      }
    }
    #expect(onHelper.withLock { $0 } > 0)
  }
}

// The worker pool: parts are claimed so each runs exactly once whatever the number of parts;
// runOnEachThread really spreads over distinct threads at once. Sharing a busy core:
// abandonable products give the single-thread result whether helpers are on time or late (the
// caller then takes their parts over), quiesce waits for a helper still in a taken part, the
// mode starts and ends by the threads' waiting (or, for a helper given nothing to run, by how
// busy its CPU was), trials keep the cheaper way, and the kernel's scheduling times and CPU
// ticks do show two threads kept to one CPU waiting for it and a CPU kept busy.

import CThreads
import Foundation
import MLPCore
import Synchronization
import Testing

@testable import MLPKernels
@testable import MLPThreads

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

  /// A 2-thread pool in the busy-core mode, split products, no placement or assessments.
  static func sharingPool() -> WorkerPool {
    let pool = WorkerPool(threads: 2)
    (pool.assesses, pool.placesThreads) = (false, false)
    pool.startSharingBusyCore()
    return pool
  }

  static let sharing = sharingPool()
  static let sharing2 = sharingPool()
  static let deciding = WorkerPool(threads: 2)
  static let choosing = sharingPool()

  @Test func abandonableProductsAreRightWhateverTheHelperDoes() {
    let pool = Self.sharing
    #expect(pool.sharesBusyCore && pool.splitsProducts)
    var rng = SeededGenerator(seed: 11)
    // Helpers on time, then helpers that sleep 2 ms in every part (as one that lost its CPU):
    // the caller takes their parts over, and the results are the same.
    for delay in [0, 2000] {
      pool.helperDelayForTests.store(delay, ordering: .relaxed)
      for (m, n, k, form) in [
        (128, 256, 784, GemmForm.nt), (256, 784, 128, .tn), (128, 256, 128, .nn),
        (67, 301, 129, .nt), (200, 97, 300, .tn),
      ] {
        for accumulate in [false, true] {
          let (aCount, bCount) = (m * k, n * k)
          let a = (0..<aCount).map { _ in Float(rng.uniform(-1, 1)) }
          let b = (0..<bCount).map { _ in Float(rng.uniform(-1, 1)) }
          let start = (0..<m * n).map { _ in Float(rng.uniform(-1, 1)) }
          let (lda, ldb) = (form == .tn ? m : k, form == .nt ? k : n)
          func product(_ threads: WorkerPool?) -> [Float] {
            var c = start
            a.withUnsafeBufferPointer { a in
              b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                  gemm(
                    form, m: m, n: n, k: k, a.baseAddress!, lda: lda, b.baseAddress!, ldb: ldb,
                    c.baseAddress!, ldc: n, accumulate: accumulate, threads: threads,
                    abandonable: true)
                }
              }
            }
            return c
          }
          let (shared, alone) = (product(pool), product(nil))
          let worst = zip(shared, alone).map { abs($0 - $1) / max(1, abs($1)) }.max()!
          #expect(worst <= 1e-5, "\(m)×\(n)×\(k) \(form) accumulate \(accumulate) delay \(delay)")
        }
      }
      if delay > 0 { #expect(Self.someTakeOver(pool), "none taken over") }
      // The operands above are freed when this returns: no helper may still read them.
      pool.quiesce()
    }
    pool.helperDelayForTests.store(0, ordering: .relaxed)
  }

  /// Whether products on `pool`, its helper claiming first and then delayed, see one of their
  /// parts taken over and still come out right.
  static func someTakeOver(_ pool: WorkerPool) -> Bool {
    let since = pool.takenOverParts
    let c = productsWithALateHelper(pool) { pool.takenOverParts > since }
    return pool.takenOverParts > since && c.allSatisfy { $0 == 64 }
  }

  /// Products of ones (128×64 · 64×256) on `pool`, its helper claiming the first part and then
  /// sleeping 0.2 s in it (longer than the caller's own parts take even in a debug build; other
  /// tests may also keep it off its CPU), until `enough` holds just after one (at most ten),
  /// each followed by `quiesce`; returns the last.
  static func productsWithALateHelper(_ pool: WorkerPool, until enough: () -> Bool) -> [Float] {
    let delay = pool.helperDelayForTests.exchange(200_000, ordering: .relaxed)
    pool.helperClaimsFirstForTests = true
    defer {
      pool.helperClaimsFirstForTests = false
      pool.helperDelayForTests.store(delay, ordering: .relaxed)
    }
    let (m, n, k) = (128, 256, 64)
    let a = [Float](repeating: 1, count: m * k)
    let b = [Float](repeating: 1, count: n * k)
    var c = [Float](repeating: 0, count: m * n)
    for _ in 0..<10 {
      a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
          c.withUnsafeMutableBufferPointer { c in
            gemm(
              .nt, m: m, n: n, k: k, a.baseAddress!, lda: k, b.baseAddress!, ldb: k,
              c.baseAddress!, ldc: n, accumulate: false, threads: pool, abandonable: true)
          }
        }
      }
      let done = enough()
      pool.quiesce()
      if done { break }
    }
    return c
  }

  @Test func quiesceWaitsForAHelperStillInATakenPart() {
    let pool = Self.sharing2
    let since = pool.takenOverParts
    var inside = 0
    // Just after a take-over, the helper is still asleep inside that part.
    let c = Self.productsWithALateHelper(pool) {
      if pool.takenOverParts > since { inside = pool.helpersInParts.load(ordering: .relaxed) }
      return inside > 0
    }
    #expect(inside > 0, "no helper was inside a taken part")
    #expect(c.allSatisfy { $0 == 64 })
    #expect(pool.helpersInParts.load(ordering: .relaxed) == 0)
  }

  @Test func assessmentsStartAndEndTheMode() {
    let pool = Self.deciding
    (pool.assesses, pool.placesThreads) = (false, false)
    // Nothing known, or nobody waiting: the usual mode.
    pool.decide(contended: [nil, nil], now: 0)
    pool.decide(contended: [false, false], now: 0)
    #expect(!pool.sharesBusyCore)
    // A helper waits for its CPU: the mode starts.
    pool.decide(contended: [false, true], now: 0)
    #expect(pool.sharesBusyCore && pool.busyCorePeriods == 1)
    // One calm look is not enough; a helper that ran nothing tells nothing either way; a
    // waiting thread starts the count again.
    pool.decide(contended: [false, false], now: 0)
    pool.decide(contended: [false, nil], now: 0)
    #expect(pool.sharesBusyCore)
    pool.decide(contended: [true, false], now: 0)
    pool.decide(contended: [false, false], now: 0)
    #expect(pool.sharesBusyCore)
    // Two calm looks in a row end it.
    pool.decide(contended: [false, false], now: 0)
    #expect(!pool.sharesBusyCore)
  }

  @Test func trialsKeepTheCheaperWayPerMultiplyAdd() {
    let pool = Self.choosing
    /// A product of `multiplyAdds` acquired at `time`, run the way the trial says.
    func product(_ multiplyAdds: Double, at time: Double) {
      pool.acquiredAt = time
      pool.countTrialProduct(multiplyAdds, way: pool.splitsProducts ? 0 : 1)
    }
    // A trial of split products begun while the caller was loading data: a product in the
    // warm-up is not counted, and the measured 0.1 s begin at the first product after it.
    pool.startTrials(now: 0)
    #expect(pool.splitsProducts && pool.arm == .trySplit)
    product(5e9, at: 0.01)
    #expect(pool.armCosts[0].work == 0)
    product(1e9, at: 0.5)
    pool.chooseArm(now: 0.59)
    #expect(pool.arm == .trySplit && pool.armCosts[0].work == 1e9)
    pool.chooseArm(now: 0.6)
    #expect(!pool.splitsProducts && pool.arm == .tryAlone)
    #expect(abs(pool.armCosts[0].seconds - 0.1) < 1e-9)
    // Then one of products on the caller alone: 2e9 in the same time, so alone is kept.
    product(2e9, at: 0.61)  // warm-up
    product(2e9, at: 0.62)
    pool.chooseArm(now: 0.72)
    #expect(!pool.splitsProducts && pool.arm == .keep)
    #expect(pool.armCosts[1].work == 2e9)
    // Kept for a second (products then count for nothing), then the trials begin again; split
    // wins when it does more.
    product(9e9, at: 1.0)
    pool.chooseArm(now: 1.7)
    #expect(pool.arm == .keep && pool.armCosts[1].work == 2e9)
    pool.chooseArm(now: 1.72)
    #expect(pool.splitsProducts && pool.arm == .trySplit)
    product(3e9, at: 1.75)
    pool.chooseArm(now: 1.85)
    product(2e9, at: 1.9)
    pool.chooseArm(now: 2.0)
    #expect(pool.splitsProducts && pool.arm == .keep)
    // A trial in which no product ran decides nothing: the trials start over.
    pool.chooseArm(now: 3.0)
    pool.chooseArm(now: 3.2)
    #expect(pool.arm == .tryAlone)
    pool.chooseArm(now: 3.4)
    #expect(pool.arm == .trySplit && pool.splitsProducts)
  }

  @Test func schedulingTimesShowThreadsWaitingForOneCPU() throws {
    var cpus = [Int32](repeating: 0, count: 1024)
    let found = mlpc_allowed_cpus(&cpus, 1024)
    try #require(found > 0)
    let first = cpus[0]
    // Two threads kept to one CPU, each spinning for 0.3 s: each waits about half the time it
    // is runnable.
    let shares = Mutex([Double]())
    let finished = DispatchSemaphore(value: 0)
    for _ in 0..<2 {
      let thread = Thread {
        var cpu = first
        _ = mlpc_set_thread_cpus(pthread_self(), &cpu, 1)
        let tid = mlpc_thread_id()
        var (run0, wait0, run1, wait1): (Int64, Int64, Int64, Int64) = (0, 0, 0, 0)
        _ = mlpc_thread_times(tid, &run0, &wait0)
        let end = Date().addingTimeInterval(0.3)
        while Date() < end {}
        _ = mlpc_thread_times(tid, &run1, &wait1)
        let (ran, waited) = (Double(run1 - run0), Double(wait1 - wait0))
        shares.withLock { $0.append(waited / max(1, ran + waited)) }
        finished.signal()
      }
      thread.start()
    }
    finished.wait()
    finished.wait()
    let measured = shares.withLock { $0 }
    #expect(measured.count == 2)
    #expect(measured.allSatisfy { $0 > 0.25 }, "waiting shares \(measured)")
  }

  @Test func contentionFromWaitsOrFromTheCPU() {
    let ms: Int64 = 1_000_000
    // A thread that ran enough is judged by its own waiting, whatever its CPU did.
    #expect(WorkerPool.contention(ran: 40 * ms, waited: 10 * ms, cpuBusyShare: 0) == true)
    #expect(WorkerPool.contention(ran: 45 * ms, waited: 5 * ms, cpuBusyShare: 1) == false)
    // One that ran too little is judged by its CPU's busy share, when known.
    #expect(WorkerPool.contention(ran: 1 * ms, waited: 0, cpuBusyShare: nil) == nil)
    #expect(WorkerPool.contention(ran: 0, waited: 0, cpuBusyShare: 0.95) == true)
    #expect(WorkerPool.contention(ran: 1 * ms, waited: 1 * ms, cpuBusyShare: 0.05) == false)
  }

  @Test func cpuTicksShowACPUKeptBusy() throws {
    var cpus = [Int32](repeating: 0, count: 1024)
    let found = mlpc_allowed_cpus(&cpus, 1024)
    try #require(found > 0)
    let cpu = cpus[0]
    let size = Int(cpu) + 1
    func ticks() -> (busy: Int64, total: Int64)? {
      var busy = [Int64](repeating: -1, count: size)
      var total = [Int64](repeating: -1, count: size)
      guard mlpc_cpu_ticks(&busy, &total, Int32(size)) == 0, total[Int(cpu)] >= 0 else {
        return nil
      }
      return (busy[Int(cpu)], total[Int(cpu)])
    }
    // A thread kept to that CPU spins for 0.3 s: the CPU is busy nearly all that time.
    let before = try #require(ticks())
    #expect(before.busy >= 0 && before.busy <= before.total)
    let finished = DispatchSemaphore(value: 0)
    let thread = Thread {
      var target = cpu
      _ = mlpc_set_thread_cpus(pthread_self(), &target, 1)
      let end = Date().addingTimeInterval(0.3)
      while Date() < end {}
      finished.signal()
    }
    thread.start()
    finished.wait()
    let after = try #require(ticks())
    let share = Double(after.busy - before.busy) / Double(max(1, after.total - before.total))
    #expect(after.total - before.total >= 20, "ticks \(after.total - before.total)")
    #expect(share > 0.8, "busy share \(share)")
  }
}

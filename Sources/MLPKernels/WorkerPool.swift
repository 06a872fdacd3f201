// A persistent pool of helper threads for splitting a GEMM. libdispatch takes tens of
// microseconds to wake a worker on Linux, as long as a whole MLP-sized product, so helpers spin
// on an atomic generation counter for about a millisecond after each job and only then sleep on
// a semaphore. One caller at a time: a second concurrent caller simply runs single-threaded.

import Foundation
import Synchronization

/// Helper threads that run parts of a job alongside the calling thread.
public final class WorkerPool: @unchecked Sendable {
  /// One thread per core (the caller counts as one).
  public static let shared = WorkerPool(threads: ProcessInfo.processInfo.activeProcessorCount)

  /// Threads a job can use, the caller included.
  public let count: Int
  private let busy = Atomic<Bool>(false)
  private let generation = Atomic<Int>(0)
  private let pending = Atomic<Int>(0)
  private let asleep: [SleepFlag]
  private let wake: [DispatchSemaphore]
  fileprivate var job: ((Int) -> Void)?
  private var parts = 0
  static let spinIterations = 200_000

  public init(threads: Int) {
    count = max(1, threads)
    asleep = (0..<count).map { _ in SleepFlag() }
    wake = (0..<count).map { _ in DispatchSemaphore(value: 0) }
    for index in 1..<max(count, 1) {
      let thread = Thread { [unowned self] in self.workerLoop(index) }
      thread.name = "mlpc-worker-\(index)"
      thread.start()
    }
  }

  /// Runs `body(0)`…`body(parts − 1)`, part 0 on the calling thread and the others on helpers;
  /// returns when all are done. Falls back to running every part here when the pool is in use.
  public func run(_ parts: Int, _ body: (Int) -> Void) {
    precondition(parts <= count)
    guard parts > 1,
      busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else {
      for part in 0..<parts { body(part) }
      return
    }
    withoutActuallyEscaping(body) { body in
      job = body
      self.parts = parts
      pending.store(parts - 1, ordering: .relaxed)
      // Sequentially consistent, like the worker's "store asleep, then load generation": with
      // weaker orderings each side can miss the other's store and the worker sleeps forever.
      generation.add(1, ordering: .sequentiallyConsistent)
      for index in 1..<count
      where asleep[index].value.exchange(false, ordering: .sequentiallyConsistent) {
        wake[index].signal()
      }
      body(0)
      while pending.load(ordering: .acquiring) > 0 {}
      job = nil
    }
    busy.store(false, ordering: .releasing)
  }

  private func workerLoop(_ index: Int) {
    _ = GemmWorkspace.current
    var seen = 0
    while true {
      var spins = 0
      while generation.load(ordering: .acquiring) == seen {
        spins += 1
        if spins < Self.spinIterations { continue }
        asleep[index].value.store(true, ordering: .sequentiallyConsistent)
        if generation.load(ordering: .sequentiallyConsistent) == seen { wake[index].wait() }
        asleep[index].value.store(false, ordering: .releasing)
        spins = 0
      }
      seen = generation.load(ordering: .acquiring)
      if index < parts {
        runPart(index)
        pending.subtract(1, ordering: .releasing)
      }
    }
  }
}

extension WorkerPool {
  /// Runs one part of the current job. A function of its own so that this thread's reference to
  /// the closure is released before the part is reported done: the closure lives on the caller's
  /// stack (`withoutActuallyEscaping`) and must not be touched once `run` returns.
  @inline(never)
  fileprivate func runPart(_ index: Int) {
    job?(index)
  }
}

/// Whether a worker is (about to be) blocked on its semaphore.
private final class SleepFlag: Sendable {
  let value = Atomic<Bool>(false)
}

// A persistent pool of helper threads for splitting a GEMM. libdispatch takes tens of
// microseconds to wake a worker on Linux, as long as a whole MLP-sized product, so helpers spin
// on an atomic generation counter for about a millisecond after each job and only then sleep on
// a semaphore. One caller at a time: a second concurrent caller simply runs single-threaded.
// Parts are claimed, not assigned: the caller and every awake helper take the next unclaimed
// part from a shared counter until none is left, so a helper that is not running (asleep, or
// descheduled because another process has its core) delays nobody unless it has already
// claimed a part; the caller waits for such a part with sched_yield, giving the core back.
// A helper that loses its CPU in the middle of a part holds the whole job up for the rest of
// the other process's time slice; how the pool notices and works around that is in
// SharedCore.swift.

import CThreads
import Foundation
import Synchronization

/// Helper threads that run parts of a job alongside the calling thread. The threads hold their
/// pool, so a pool lives (and its helpers sleep) until the process ends: make a few, once.
public final class WorkerPool: @unchecked Sendable {
  /// `MLPC_THREADS` when it is a whole number from 1 to 1024, else the number of cores.
  public static var configuredThreads: Int {
    threadsSetting.flatMap(\.value) ?? ProcessInfo.processInfo.activeProcessorCount
  }

  /// Why `MLPC_THREADS` cannot be honoured, if it is set to something unusable.
  public static var environmentProblem: String? {
    guard let (text, value) = threadsSetting, value == nil else { return nil }
    return "MLPC_THREADS is '\(text)'; use a whole number from 1 to 1024"
  }

  /// `MLPC_THREADS` as written, and its value when it is usable.
  private static var threadsSetting: (text: String, value: Int?)? {
    ProcessInfo.processInfo.environment["MLPC_THREADS"].map { text in
      (text, Int(text).flatMap { (1...1024).contains($0) ? $0 : nil })
    }
  }

  /// Threads a job can use, the caller included.
  public let count: Int
  private let busy = Atomic<Bool>(false)
  private let generation = Atomic<Int>(0)
  /// The current job's claim word: generation << 32 | parts << 16 | next unclaimed part.
  private let claims = Atomic<Int>(0)
  private let done = Atomic<Int>(0)
  private let started = Atomic<Int>(0)
  private let asleep: [SleepFlag]
  private let wake: [DispatchSemaphore]
  fileprivate var job: ((Int) -> Void)?
  static let spinIterations = 200_000
  /// Jobs that ran on the caller alone because the pool is sharing a busy core (for tests and
  /// `mlpc bench`).
  public internal(set) var soloJobs = 0

  // Sharing a busy core (SharedCore.swift). Read and written by the caller only, except where
  // atomic.
  /// Whether a thread of the pool has been waiting for its CPU (SharedCore.swift).
  public internal(set) var sharesBusyCore: Bool {
    get { sharing.load(ordering: .relaxed) }
    set { sharing.store(newValue, ordering: .relaxed) }
  }
  let sharing = Atomic<Bool>(false)
  /// While sharing: whether products are split now (else they run on the caller alone), which
  /// trial or choice that is and until when, and the seconds per multiply-add each way measured
  /// in the last trials (index 0 split, 1 alone).
  var splitsProducts = true
  var arm = SharingArm.trySplit
  var armUntil = 0.0
  var armStart = 0.0
  /// Whether the current trial's measured time has begun (at its first product after the
  /// warm-up).
  var armMeasuring = false
  /// When the pool was last acquired (the products of a trial count from its measured start).
  var acquiredAt = 0.0
  var armCosts = [(work: 0.0, seconds: 0.0), (work: 0.0, seconds: 0.0)]
  /// When the threads' waiting times were last looked at, and what they were then (index 0:
  /// the caller), and how many looks in a row found no thread waiting.
  var lastAssessment = 0.0
  var threadTimes: [(tid: Int, run: Int64, wait: Int64)]
  /// Per helper kept to a CPU of its own while sharing: that CPU's busy and total ticks at the
  /// last assessment.
  var cpuTicks: [(cpu: Int32, busy: Int64, total: Int64)?]
  var calmWindows = 0
  /// Each helper's kernel thread id (0 until it has started) and CPU while placed.
  let helperTIDs: [AtomicWord]
  var helperCPUs: [Int32]
  /// Parts the caller took over from a late helper, and times the mode was entered.
  public internal(set) var takenOverParts = 0
  public internal(set) var busyCorePeriods = 0
  /// How long the caller took per part of the last abandonable job it ran parts of.
  var secondsPerPart = 50e-6
  /// The current abandonable job, as words (helpers read it before claiming a part), and the
  /// type that reads them.
  let split = JobSlot()
  let jobType: (any AbandonableJob.Type)?
  /// Run by each helper thread when it starts (the kernels allocate its packing buffers).
  private let onThreadStart: @Sendable () -> Void
  /// Per part of an abandonable job: generation << 8 | PartState.
  let partStates: [AtomicWord]
  /// Per part of an abandonable job: when its helper began it (monotonic seconds' bits).
  let partStarts: [AtomicWord]
  /// Helpers inside an abandonable part (quiesce waits for none).
  let helpersInParts = Atomic<Int>(0)
  /// Each helper's pthread_t (0 until it has started), and the CPUs the process may use.
  let helperThreads: [AtomicWord]
  let allowedCPUs: [Int32]
  /// Whether the caller and helpers are kept to CPUs of their own, which thread the caller was,
  /// and its CPU.
  var helpersPlaced = false
  var callerThread: pthread_t?
  var callerCPU: Int32 = -1
  /// Tests: microseconds a helper sleeps before each abandonable part (a helper that lost its
  /// CPU, on demand); whether the caller lets a helper claim first; whether the pool looks at
  /// its threads' times (off: the mode changes only when told); whether it places threads.
  let helperDelayForTests = Atomic<Int>(0)
  var helperClaimsFirstForTests = false
  var assesses = true
  var placesThreads = true
  /// Whether the current job is abandonable.
  let jobIsSplit = Atomic<Bool>(false)

  /// A pool of `threads` threads (the caller counts as one) whose abandonable jobs are of
  /// `jobs`; each helper runs `onThreadStart` first.
  public init(
    threads: Int, jobs: (any AbandonableJob.Type)?, onThreadStart: @escaping @Sendable () -> Void
  ) {
    count = max(1, threads)
    jobType = jobs
    self.onThreadStart = onThreadStart
    asleep = (0..<count).map { _ in SleepFlag() }
    partStates = (0..<Self.maxSplitParts).map { _ in AtomicWord() }
    partStarts = (0..<Self.maxSplitParts).map { _ in AtomicWord() }
    helperThreads = (0..<count).map { _ in AtomicWord() }
    helperTIDs = (0..<count).map { _ in AtomicWord() }
    helperCPUs = [Int32](repeating: -1, count: count)
    threadTimes = [(tid: Int, run: Int64, wait: Int64)](repeating: (0, 0, 0), count: count)
    cpuTicks = Array(repeating: nil, count: count)
    allowedCPUs = withUnsafeTemporaryAllocation(of: Int32.self, capacity: 1024) { cpus in
      let found = mlpc_allowed_cpus(cpus.baseAddress!, 1024)
      return found > 0 ? Array(cpus.prefix(Int(found))) : []
    }
    wake = (0..<count).map { _ in DispatchSemaphore(value: 0) }
    for index in 1..<max(count, 1) {
      let thread = Thread { [self] in self.workerLoop(index) }
      thread.name = "mlpc-worker-\(index)"
      thread.start()
    }
  }

  /// Runs `body(0)`…`body(parts − 1)` on the calling thread and the helpers, each part once,
  /// claimed by whichever thread is free (parts < 65 536); returns when all are done. Runs
  /// every part here when the pool is in use.
  public func run(_ parts: Int, _ body: (Int) -> Void) {
    precondition(parts < 1 << 16)
    guard parts > 1, acquire(mayRunSolo: true) else {
      for part in 0..<parts { body(part) }
      return
    }
    share(parts, body)
  }

  /// Takes the pool for one job: false when it is in use, has no helpers, or (if allowed) is
  /// sharing a busy core (small jobs then run on the caller alone).
  func acquire(mayRunSolo: Bool) -> Bool {
    guard count > 1,
      busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else { return false }
    let now = monotonicSeconds()
    acquiredAt = now
    if assesses, now - lastAssessment > Self.assessmentSeconds { assessSharing(now: now) }
    if assesses, sharesBusyCore, now >= armUntil { chooseArm(now: now) }
    if mayRunSolo, sharesBusyCore {
      soloJobs += 1
      busy.store(false, ordering: .releasing)
      return false
    }
    return true
  }

  /// Gives the pool back after a job.
  func release() { busy.store(false, ordering: .releasing) }

  /// Publishes job `generation` (its claim word and, for helpers spinning or asleep, the
  /// generation) and wakes sleeping helpers; returns the generation.
  func publish(parts: Int, split isSplit: Bool) -> Int {
    done.store(0, ordering: .relaxed)
    jobIsSplit.store(isSplit, ordering: .relaxed)
    let generation = generation.load(ordering: .relaxed) + 1
    claims.store(generation << 32 | parts << 16, ordering: .releasing)
    // Sequentially consistent, like the worker's "store asleep, then load generation": with
    // weaker orderings each side can miss the other's store and the worker sleeps forever.
    self.generation.store(generation, ordering: .sequentiallyConsistent)
    for index in 1..<min(count, parts)
    where asleep[index].value.exchange(false, ordering: .sequentiallyConsistent) {
      wake[index].signal()
    }
    return generation
  }

  /// Claims the next unclaimed part of job `generation`, if any. The claim is a
  /// compare-and-exchange on the whole word, so it fails once a newer job has replaced it: a
  /// late helper never takes (or skips) a part of a job it has not seen start.
  @inline(__always)
  func claim(_ generation: Int) -> Int? {
    var word = claims.load(ordering: .acquiring)
    while word >> 32 == generation, word & 0xffff < (word >> 16) & 0xffff {
      let (claimed, current) = claims.compareExchange(
        expected: word, desired: word + 1, ordering: .acquiringAndReleasing)
      if claimed { return word & 0xffff }
      word = current
    }
    return nil
  }

  /// Parts of job `generation` claimed so far (0 once a newer job has started).
  func claimedParts(_ generation: Int) -> Int {
    let word = claims.load(ordering: .acquiring)
    return word >> 32 == generation ? word & 0xffff : 0
  }

  /// Parts of the current job finished.
  var finishedParts: Int { done.load(ordering: .acquiring) }

  /// Counts a part of the current job finished.
  func finishPart() { done.add(1, ordering: .releasing) }

  /// Runs a job on the caller and the helpers; the pool has been acquired.
  private func share(_ parts: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
      job = body
      let generation = publish(parts: parts, split: false)
      claimParts(generation, body)
      // Parts still running were claimed by helpers; if one has lost its core, yield ours.
      var spins = 0
      while finishedParts < parts {
        spins += 1
        if spins > 2_000 { sched_yield() }
      }
      job = nil
    }
    busy.store(false, ordering: .releasing)
  }

  /// Runs `body(i)` on `parts` ≤ count different threads at once (each part waits until all
  /// have started): for measurements that need every thread busy, such as the FMA peak.
  public func runOnEachThread(_ parts: Int, _ body: (Int) -> Void) {
    precondition(parts <= count)
    guard parts > 1, acquire(mayRunSolo: false) else {
      for part in 0..<parts { body(part) }
      return
    }
    started.store(0, ordering: .relaxed)
    share(parts) { part in
      started.add(1, ordering: .acquiringAndReleasing)
      while started.load(ordering: .acquiring) < parts {}
      body(part)
    }
  }

  /// Claims and runs parts of job `generation` until none is left.
  private func claimParts(_ generation: Int, _ body: (Int) -> Void) {
    while let part = claim(generation) {
      body(part)
      finishPart()
    }
  }

  private func workerLoop(_ index: Int) {
    onThreadStart()
    helperThreads[index].value.store(Int(bitPattern: UInt(pthread_self())), ordering: .releasing)
    helperTIDs[index].value.store(Int(mlpc_thread_id()), ordering: .releasing)
    var seen = 0
    var scratch = Scratch()
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
      if jobIsSplit.load(ordering: .relaxed) {
        helpWithSplit(seen, scratch: &scratch)
      } else {
        claimParts(seen) { runPart($0) }
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

/// CLOCK_MONOTONIC in seconds (a vDSO call, tens of nanoseconds).
@inline(__always)
func monotonicSeconds() -> Double {
  var t = timespec()
  clock_gettime(CLOCK_MONOTONIC, &t)
  return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Whether a worker is (about to be) blocked on its semaphore.
private final class SleepFlag: Sendable {
  let value = Atomic<Bool>(false)
}

// Sharing a busy core. When another process runs on a helper's CPU, the helper gets that CPU
// in slices of milliseconds, and a part it holds keeps the caller waiting far longer than the
// part takes. The pool notices from its threads' own scheduling times (assessSharing: a thread
// that spent over 15 % of its runnable time waiting for a CPU shares it) and then:
// - keeps the caller and each helper on CPUs of their own (else the scheduler may wake a helper
//   on the caller's CPU, where the two take turns while the other process has a CPU to itself),
//   moving the caller if it is the one that waits;
// - runs other jobs (gathering, updates) on the caller alone;
// - runs each product of the training step one of two ways, chosen by trial (chooseArm): on the
//   caller alone, or as an abandonable job: two parts per thread, claimed as usual, a helper
//   computing its part into scratch of its own and publishing it only if the caller has not
//   taken it over; the caller, once out of parts, takes over every part not yet begun or running
//   for longer than 1.25 times the caller's own parts took. So a descheduled helper costs at
//   most one part, and a running one still does its share. Each part's state word
//   (generation << 8 | PartState) decides who publishes: the helper moves it running →
//   publishing, or the caller moves it to taken; only one succeeds.
// A helper whose part was taken over may still be reading the operands after the job has
// returned; its result is thrown away, but the memory must stay mapped, so only callers whose
// operands outlive the job ask for this (the executor's arena, freed after `quiesce`).
// Two assessments in a row in which no thread waited and every helper ran (or, kept to a CPU of
// its own but given nothing to run, found that CPU mostly idle) end the mode.

import CThreads
import Foundation
import MLPKernelsGeneric
import Synchronization

/// Which way products run while sharing a busy core (WorkerPool.chooseArm).
enum SharingArm {
  case trySplit, tryAlone, keep
}

/// What a part of an abandonable job is doing (the low byte of its state word).
enum PartState {
  static let running = 1
  static let taken = 2
  static let publishing = 3
  static let done = 4
}

/// One product's split over column ranges of C, as plain values.
struct SplitGemm {
  var operands: GemmOperands
  var m: Int
  var n: Int
  var k: Int
  var nr: Int
  var parts: Int
  var kernel: BlockedKernel

  /// The columns of C part `part` computes: whole NR tiles, spread evenly.
  func columns(_ part: Int) -> Range<Int> {
    let tiles = (n + nr - 1) / nr
    return tiles * part / parts * nr..<min(n, tiles * (part + 1) / parts * nr)
  }

  /// Computes part `part` into C, or into `scratch` (M rows of the part's width) without
  /// reading C.
  func run(_ part: Int, into scratch: UnsafeMutablePointer<Float>?) {
    let columns = columns(part)
    var o = operands
    if let scratch {
      o = GemmOperands(
        a: o.a, aRow: o.aRow, aCol: o.aCol, b: o.b, bRow: o.bRow, bCol: o.bCol,
        c: scratch - columns.lowerBound, ldc: columns.count, accumulate: false)
    }
    kernel(o, m, columns, k, GemmWorkspace.current.buffers)
  }

  /// Writes (or adds, when accumulating) a part computed into scratch to C.
  func publish(_ part: Int, from scratch: UnsafePointer<Float>) {
    let columns = columns(part)
    let width = columns.count
    for i in 0..<m {
      let (source, target) = (
        scratch + i * width, operands.c + i * operands.ldc + columns.lowerBound
      )
      if operands.accumulate {
        for j in 0..<width { target[j] += source[j] }
      } else {
        target.update(from: source, count: width)
      }
    }
  }

  /// Floats of scratch part `part` needs.
  func scratchCount(_ part: Int) -> Int { m * columns(part).count }
}

/// The current abandonable job in atomic words, so a helper may read it while the caller
/// starts the next one (a claim of the job's generation succeeds only if it was still current).
final class SplitSlot: Sendable {
  private let words = (0..<16).map { _ in AtomicWord() }

  func store(_ job: SplitGemm) {
    let o = job.operands
    set(0, Int(bitPattern: o.a))
    set(1, o.aRow)
    set(2, o.aCol)
    set(3, Int(bitPattern: o.b))
    set(4, o.bRow)
    set(5, o.bCol)
    set(6, Int(bitPattern: o.c))
    set(7, o.ldc)
    set(8, o.accumulate ? 1 : 0)
    set(9, job.m)
    set(10, job.n)
    set(11, job.k)
    set(12, job.nr)
    set(13, job.parts)
    set(14, job.kernel.rawValue)
  }

  /// The job; meaningful only if a part of its generation is then claimed.
  func load() -> SplitGemm? {
    guard let a = UnsafePointer<Float>(bitPattern: get(0)),
      let b = UnsafePointer<Float>(bitPattern: get(3)),
      let c = UnsafeMutablePointer<Float>(bitPattern: get(6)),
      let kernel = BlockedKernel(rawValue: get(14)), get(12) > 0, get(13) > 0
    else { return nil }
    return SplitGemm(
      operands: GemmOperands(
        a: a, aRow: get(1), aCol: get(2), b: b, bRow: get(4), bCol: get(5), c: c, ldc: get(7),
        accumulate: get(8) != 0),
      m: get(9), n: get(10), k: get(11), nr: get(12), parts: get(13), kernel: kernel)
  }

  @inline(__always) private func set(_ i: Int, _ value: Int) {
    words[i].value.store(value, ordering: .relaxed)
  }

  @inline(__always) private func get(_ i: Int) -> Int { words[i].value.load(ordering: .relaxed) }
}

/// An atomic word in a class of its own, so there can be an array of them.
final class AtomicWord: Sendable {
  let value = Atomic<Int>(0)
}

/// A helper's scratch for abandonable parts, grown as needed; cache-line aligned, like C's
/// rows in the arena (unaligned, every 16-wide store of the tile would span two lines).
struct Scratch {
  private var pointer: UnsafeMutableRawPointer?
  private var capacity = 0

  mutating func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
    if count > capacity {
      pointer?.deallocate()
      pointer = .allocate(byteCount: count * 4, alignment: 64)
      capacity = count
    }
    return pointer!.assumingMemoryBound(to: Float.self)
  }
}

extension WorkerPool {
  /// Parts of an abandonable job at most (one bit each in the caller's record).
  static let maxSplitParts = 64
  /// Parts of an abandonable product per thread (W1 under load, Zen 4: 0.47 s an epoch with
  /// two, 0.50 with four, since each part packs and streams its own operands).
  static let splitPerThread = 2
  /// How often the pool looks at its threads' waiting times.
  static let assessmentSeconds = 0.05
  /// Each trial's measured time, after a warm-up that is not measured.
  static let trialSeconds = 0.1
  static let warmUpSeconds = 0.02
  static let keepSeconds = 1.0

  /// Runs a product while sharing a busy core: as an abandonable job, or on the caller alone,
  /// whichever the current trial or choice says, timing it for the choice. Its operands must
  /// stay mapped until `quiesce` returns: a helper whose part was taken over may still be
  /// reading them.
  func runShared(_ job: SplitGemm) {
    precondition(job.parts <= Self.maxSplitParts)
    guard acquire(mayRunSolo: false) else {
      for part in 0..<job.parts { job.run(part, into: nil) }
      return
    }
    let index = splitsProducts ? 0 : 1
    if splitsProducts {
      runAbandonable(job)
    } else {
      var whole = job
      whole.parts = 1
      whole.run(0, into: nil)
    }
    countTrialProduct(Double(job.m * job.n * job.k), way: index)
    release()
  }

  /// Runs an abandonable job; the pool has been acquired.
  private func runAbandonable(_ job: SplitGemm) {
    split.store(job)
    let generation = publish(parts: job.parts, split: true)
    if helperClaimsFirstForTests { waitForFirstClaim(generation) }
    var own: UInt64 = 0
    var (ownSeconds, ownParts) = (0.0, 0)
    while let part = claim(generation) {
      let start = monotonicSeconds()
      job.run(part, into: nil)
      ownSeconds += monotonicSeconds() - start
      ownParts += 1
      own |= 1 << part
      finishPart()
    }
    if ownParts > 0 { secondsPerPart = ownSeconds / Double(ownParts) }
    // A helper that is running finishes a part about one part's time after beginning it; one
    // that has not begun a part it claimed a few microseconds ago has lost its core.
    let grace = 1.25 * secondsPerPart + 2e-6
    var tookOver = 0
    let waitStart = monotonicSeconds()
    var pending = (job.parts == 64 ? ~0 : (1 << job.parts) - 1) & ~own
    while finishedParts < job.parts {
      let now = monotonicSeconds()
      var rest = pending
      while rest != 0 {
        let part = rest.trailingZeroBitCount
        rest &= rest - 1
        let word = partStates[part]
        let state = word.value.load(ordering: .acquiring)
        if state >> 8 == generation {
          if state & 0xff == PartState.done { pending &= ~(1 << part) }
          guard state & 0xff == PartState.running,
            now - Double(bitPattern: UInt64(partStarts[part].value.load(ordering: .relaxed)))
              > grace
          else { continue }
        } else if now - waitStart < 2e-6 {
          continue
        }
        let taken = word.value.compareExchange(
          expected: state, desired: generation << 8 | PartState.taken,
          ordering: .acquiringAndReleasing
        ).exchanged
        if taken {
          job.run(part, into: nil)
          finishPart()
          tookOver += 1
          pending &= ~(1 << part)
        }
      }
      for _ in 0..<32 where finishedParts < job.parts {}
    }
    takenOverParts += tookOver
  }

  /// Tests: lets a helper claim the first part (waiting up to a second), so that a helper
  /// delayed in its part is certain to be taken over.
  private func waitForFirstClaim(_ generation: Int) {
    let deadline = monotonicSeconds() + 1
    while claimedParts(generation) == 0, monotonicSeconds() < deadline { sched_yield() }
  }

  /// A helper's side of abandonable job `generation`: claims parts, computes each into scratch
  /// and publishes it unless the caller has taken it over meanwhile.
  func helpWithSplit(_ generation: Int, scratch: inout Scratch) {
    // Read before claiming: if a claim of this generation then succeeds, this was its job.
    guard let job = split.load() else { return }
    while let part = claim(generation) {
      let word = partStates[part]
      let state = word.value.load(ordering: .acquiring)
      if state >> 8 == generation { continue }  // taken over already
      helpersInParts.add(1, ordering: .sequentiallyConsistent)
      partStarts[part].value.store(
        Int(bitPattern: UInt(monotonicSeconds().bitPattern)), ordering: .relaxed)
      let running = generation << 8 | PartState.running
      if word.value.compareExchange(
        expected: state, desired: running, ordering: .acquiringAndReleasing
      )
      .exchanged {
        let delay = helperDelayForTests.load(ordering: .relaxed)
        if delay > 0 { usleep(UInt32(delay)) }
        let buffer = scratch.reserve(job.scratchCount(part))
        job.run(part, into: buffer)
        if word.value.compareExchange(
          expected: running, desired: generation << 8 | PartState.publishing,
          ordering: .acquiringAndReleasing
        ).exchanged {
          job.publish(part, from: buffer)
          word.value.store(generation << 8 | PartState.done, ordering: .releasing)
          finishPart()
        }
      }
      helpersInParts.subtract(1, ordering: .sequentiallyConsistent)
    }
  }

  /// Every `assessmentSeconds`, from each thread's run and wait times
  /// (/proc/self/task/TID/schedstat): a thread that spent more than 15 % of the time it was
  /// runnable waiting for a CPU shares its CPU with something (one that ran too little to tell:
  /// see `contention`). In the usual mode, any such thread starts the mode; in it, a contended
  /// caller trades CPUs with an uncontended helper, and two windows in a row without contention
  /// end it.
  func assessSharing(now: Double) {
    lastAssessment = now
    let callerTID = mlpc_thread_id()
    var contended = [Bool?](repeating: nil, count: count)
    let busyShares = helperCPUBusyShares()
    for index in 0..<count {
      let tid = index == 0 ? Int(callerTID) : helperTIDs[index].value.load(ordering: .acquiring)
      var (run, wait): (Int64, Int64) = (0, 0)
      guard tid > 0, mlpc_thread_times(Int32(tid), &run, &wait) == 0 else { continue }
      let last = threadTimes[index]
      threadTimes[index] = (tid, run, wait)
      guard last.tid == tid else { continue }
      contended[index] = Self.contention(
        ran: run - last.run, waited: wait - last.wait,
        cpuBusyShare: busyShares[index])
    }
    decide(contended: contended, now: now)
  }

  /// Whether a thread shares its CPU with something, from what it ran and waited for a CPU in a
  /// window (ns): more than 15 % of its runnable time waiting. A thread that ran too little to
  /// tell (every job running on the caller while sharing, say) is judged by how busy its CPU
  /// was, when known: over half busy without it, something else runs there. Nil: unknown.
  static func contention(ran: Int64, waited: Int64, cpuBusyShare: Double?) -> Bool? {
    if ran + waited > 5_000_000 { return Double(waited) > 0.15 * Double(ran + waited) }
    return cpuBusyShare.map { $0 > 0.5 }
  }

  /// While the helpers are kept to CPUs of their own: the share of the time since the last
  /// assessment each helper's CPU was busy (/proc/stat, read once), when at least 40 ms of
  /// ticks passed. Without it, a mode entered on a moment's contention (another program
  /// starting) would never end while every job ran on the caller alone: a helper that runs
  /// nothing tells nothing.
  private func helperCPUBusyShares() -> [Double?] {
    var shares = [Double?](repeating: nil, count: count)
    guard sharesBusyCore, helpersPlaced, let top = helperCPUs.max(), top >= 0 else {
      cpuTicks = Array(repeating: nil, count: count)
      return shares
    }
    let cpus = Int(top) + 1
    var busy = [Int64](repeating: -1, count: cpus)
    var total = [Int64](repeating: -1, count: cpus)
    guard mlpc_cpu_ticks(&busy, &total, Int32(cpus)) == 0 else { return shares }
    for index in 1..<count {
      let cpu = helperCPUs[index]
      guard cpu >= 0, total[Int(cpu)] >= 0 else { continue }
      let now = (cpu: cpu, busy: busy[Int(cpu)], total: total[Int(cpu)])
      defer { cpuTicks[index] = now }
      guard let last = cpuTicks[index], last.cpu == cpu else { continue }
      let ticks = Double(now.total - last.total)
      if ticks / Double(Self.ticksPerSecond) >= 0.04 {
        shares[index] = Double(now.busy - last.busy) / ticks
      }
    }
    return shares
  }

  /// /proc/stat's clock ticks per second.
  static let ticksPerSecond = max(1, sysconf(Int32(_SC_CLK_TCK)))

  /// What an assessment does with its findings: per thread (index 0 the caller), whether it
  /// waited for its CPU, or nil when it ran too little to tell.
  func decide(contended: [Bool?], now: Double) {
    if !sharesBusyCore {
      if contended.contains(true) { startSharingBusyCore() }
      return
    }
    if contended[0] == true, helpersPlaced,
      let free = (1..<count).first(where: { contended[$0] == false })
    {
      place(callerOn: helperCPUs[free])
      calmWindows = 0
    } else if contended.contains(true) {
      calmWindows = 0
    } else if !contended.dropFirst().contains(nil) {
      // Every helper ran, and no thread waited: (helpers running nothing tell nothing.)
      calmWindows += 1
      if calmWindows >= 2 {
        stopSharingBusyCore()
        return
      }
    }
  }

  /// Alternates a trial of split products and one of products on the caller alone, then keeps
  /// the cheaper per multiply-add for a second, and begins again: which is faster depends on
  /// how much of its CPU a helper gets and on what moving data between the cores costs at the
  /// moment (in a VM that changes as the host moves virtual CPUs). Each trial is measured from
  /// its first product after a warm-up of `warmUpSeconds`: a helper that slept through a second
  /// of products on the caller alone waits for its CPU for some milliseconds once woken, and a
  /// trial begun while the caller was doing other work (loading data) counted that time too;
  /// measured from their start, the first trials of W1 runs beside a busy process often kept
  /// products on one thread for a second or two.
  func chooseArm(now: Double) {
    guard now >= armUntil else { return }
    // A trial's cost is its whole time per multiply-add of the products run in it: what the
    // choice changes includes the work between products (their results are read on the
    // caller's core next, wherever they were computed).
    switch arm {
    case .trySplit:
      armCosts[0].seconds = now - armStart
      startTrial(.tryAlone, now: now)
    case .tryAlone:
      armCosts[1].seconds = now - armStart
      // A trial with no products (the caller was doing something else) decides nothing.
      guard armCosts[0].work > 0, armCosts[1].work > 0 else { return startTrials(now: now) }
      let cost = armCosts.map { $0.seconds / $0.work }
      splitsProducts = cost[0] < cost[1]
      (arm, armUntil) = (.keep, now + Self.keepSeconds)
    case .keep:
      startTrials(now: now)
    }
  }

  /// Counts a product of `multiplyAdds` run one way (0 split, 1 alone) in the current trial:
  /// the first product acquired after the warm-up starts the trial's measured time.
  func countTrialProduct(_ multiplyAdds: Double, way: Int) {
    guard arm != .keep, acquiredAt >= armStart else { return }
    if !armMeasuring {
      (armMeasuring, armStart, armUntil) = (true, acquiredAt, acquiredAt + Self.trialSeconds)
    }
    armCosts[way].work += multiplyAdds
  }

  /// Starts over with the trial of split products.
  func startTrials(now: Double) {
    armCosts = [(0, 0), (0, 0)]
    startTrial(.trySplit, now: now)
  }

  /// Starts trial `trial`, measured for `trialSeconds` from its first product after the
  /// warm-up (with no product by the end of a first such span, it ends unmeasured).
  private func startTrial(_ trial: SharingArm, now: Double) {
    (arm, splitsProducts, armMeasuring) = (trial, trial == .trySplit, false)
    armStart = now + Self.warmUpSeconds
    armUntil = armStart + Self.trialSeconds
  }

  /// Called when a thread of the pool waits for its CPU: from now on products are
  /// abandonable, and the caller and each helper keep to CPUs of their own (else the scheduler
  /// may put a waking helper on the caller's CPU, where the two take turns while the other
  /// process has a CPU to itself).
  func startSharingBusyCore() {
    guard !sharesBusyCore else { return }
    busyCorePeriods += 1
    sharesBusyCore = true
    startTrials(now: monotonicSeconds())
    calmWindows = 0
    let here = mlpc_current_cpu()
    guard placesThreads, allowedCPUs.count >= 2, allowedCPUs.contains(here) else { return }
    place(callerOn: here)
  }

  /// Keeps the calling thread (the pool's caller) on `cpu` and the helpers on the other allowed
  /// CPUs, round robin.
  private func place(callerOn cpu: Int32) {
    let others = allowedCPUs.filter { $0 != cpu }
    guard pin(pthread_self(), [cpu]) else { return }
    callerThread = pthread_self()
    callerCPU = cpu
    helpersPlaced = true
    for index in 1..<count {
      let thread = helperThreads[index].value.load(ordering: .acquiring)
      helperCPUs[index] = others[(index - 1) % others.count]
      if thread != 0 { _ = pin(pthread_t(UInt(bitPattern: thread)), [helperCPUs[index]]) }
    }
  }

  private func pin(_ thread: pthread_t, _ cpus: [Int32]) -> Bool {
    mlpc_set_thread_cpus(thread, cpus, Int32(cpus.count)) == 0
  }

  /// Ends the mode: products split as usual, every thread may run anywhere again.
  func stopSharingBusyCore() {
    sharesBusyCore = false
    guard helpersPlaced else { return }
    helpersPlaced = false
    // Only the thread that is calling now can be freed safely (an earlier caller may have
    // ended); in mlpc the caller is always the main thread.
    if let callerThread, pthread_equal(callerThread, pthread_self()) != 0 {
      _ = pin(callerThread, allowedCPUs)
    }
    for index in 1..<count {
      let thread = helperThreads[index].value.load(ordering: .acquiring)
      if thread != 0 { _ = pin(pthread_t(UInt(bitPattern: thread)), allowedCPUs) }
    }
  }

  /// Waits until no helper is still inside a part that was taken over from it: call before
  /// freeing memory that abandonable jobs read.
  public func quiesce() {
    while helpersInParts.load(ordering: .sequentiallyConsistent) > 0 { sched_yield() }
  }
}

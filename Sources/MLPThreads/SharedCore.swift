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

extension WorkerPool {
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

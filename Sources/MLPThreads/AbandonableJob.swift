// Abandonable jobs: while the pool shares a busy core (SharedCore.swift), a product runs as
// parts that a helper computes into scratch of its own and publishes only if the caller has not
// taken the part over. The job is described by plain words (`AbandonableJob.words`), so a
// helper may read it while the caller starts the next one: a claim of the job's generation
// succeeds only if the words it read were still current. The kernels define the one job type
// (MLPKernels' split GEMM); the pool runs it without knowing what it computes.

import Foundation
import Synchronization

/// The words describing an abandonable job.
public typealias JobWords = InlineArray<16, Int>

/// A job of independent parts that a helper may compute into scratch and publish later.
public protocol AbandonableJob {
  /// Parts of the job (at most `WorkerPool.maxSplitParts`).
  var parts: Int { get set }
  /// The job's size (multiply-adds), for timing the ways of running jobs against each other.
  var work: Double { get }
  /// The job as plain words, and back (nil for words that describe no job).
  var words: JobWords { get }
  init?(words: JobWords)
  /// Computes part `part` into its destination, or into `scratch` without reading it.
  func run(_ part: Int, into scratch: UnsafeMutablePointer<Float>?)
  /// Writes (or adds) a part computed into scratch to its destination.
  func publish(_ part: Int, from scratch: UnsafePointer<Float>)
  /// Floats of scratch part `part` needs.
  func scratchCount(_ part: Int) -> Int
}

/// The current abandonable job in atomic words, so a helper may read it while the caller
/// starts the next one.
final class JobSlot: Sendable {
  private let words = (0..<16).map { _ in AtomicWord() }

  func store(_ job: JobWords) {
    for i in 0..<16 { words[i].value.store(job[i], ordering: .relaxed) }
  }

  /// The words; meaningful only if a part of their generation is then claimed.
  func load() -> JobWords {
    var job = JobWords(repeating: 0)
    for i in 0..<16 { job[i] = words[i].value.load(ordering: .relaxed) }
    return job
  }
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
  public static let maxSplitParts = 64
  /// Parts of an abandonable product per thread (W1 under load, Zen 4: 0.47 s an epoch with
  /// two, 0.50 with four, since each part packs and streams its own operands).
  public static let splitPerThread = 2
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
  public func runShared(_ job: some AbandonableJob) {
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
    countTrialProduct(job.work, way: index)
    release()
  }

  /// Runs an abandonable job; the pool has been acquired.
  private func runAbandonable(_ job: some AbandonableJob) {
    split.store(job.words)
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
    guard let job = jobType?.init(words: split.load()) else { return }
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
}

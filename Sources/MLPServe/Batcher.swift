// Micro-batching: requests for one model queue their encoded rows; one thread per model takes
// every row waiting (up to `maxBatch`, after waiting at most `maxDelay` for more to arrive), runs
// them through the model's inference-only plan in one forward pass (on the kernels' worker pool
// when the batch is big enough), and hands each request its own rows of x^N. A row's outputs do
// not depend on the rows beside it or on how many there are (every forward product gives a row
// of its result the same bits whatever the other rows: Gemm.swift), so batched and unbatched
// answers are identical (tested), and a pass runs only the rows it has.

import Foundation
import MLPCore

/// One model's queue of rows and the thread that runs them.
public final class Batcher: @unchecked Sendable {
  private struct Job {
    let x: [Float]
    let rows: Int
    let arrived: UInt64
    let done: CheckedContinuation<[Float], Never>
  }

  /// The most rows run in one forward pass.
  public let maxBatch: Int
  /// How long the first waiting request may wait for others, in nanoseconds (0: never; rows
  /// that arrive while a batch runs still form the next batch).
  public let maxDelay: UInt64
  /// Called after each forward pass with its rows (for the batch-size histogram).
  private let observe: @Sendable (Int) -> Void

  private let condition = NSCondition()
  private var queue: [Job] = []
  private var head = 0
  private var queuedRows = 0
  private var stopping = false
  // The batching thread's.
  private let predictor: Predictor
  /// Predictors for requests run on their own threads, each used by one thread at a time;
  /// made when first needed, at most `inlineMost` (one per core: the server's event loops).
  private var spares: [Predictor] = []
  private var made = 0
  private let inlineMost = max(1, ProcessInfo.processInfo.activeProcessorCount)
  private let model: Model
  private let inputs: Int
  private let outputs: Int

  public init(
    _ model: Model, maxBatch: Int, maxDelayMicroseconds: Int,
    observe: @escaping @Sendable (Int) -> Void = { _ in }
  ) {
    self.maxBatch = max(1, maxBatch)
    maxDelay = UInt64(max(0, maxDelayMicroseconds)) * 1000
    self.observe = observe
    predictor = Predictor(model, batchSize: self.maxBatch)
    self.model = model
    inputs = model.network.loadedColumns
    outputs = model.network.layers.last!.units
    // The thread keeps the batcher alive until `stop()`.
    let thread = Thread { self.loop() }
    thread.name = "mlpc-batch-\(model.description.name)"
    thread.start()
  }

  /// x^N for `rows` encoded rows `x` (rows × the model's loaded columns), row after row.
  /// With no delay asked for, a request that finds no request queued and fits one forward pass
  /// runs it on its own thread (no hand-over to the batching thread and back), with a predictor
  /// of its own while one is free; requests that arrive when none is queue, and are batched.
  public func run(_ x: [Float], rows: Int) async -> [Float] {
    precondition(x.count == rows * inputs)
    if let out = now(x, rows: rows) { return out }
    return await withCheckedContinuation { done in
      condition.lock()
      queue.append(Job(x: x, rows: rows, arrived: DispatchTime.now().uptimeNanoseconds, done: done))
      queuedRows += rows
      condition.signal()
      condition.unlock()
    }
  }

  /// The rows' outputs computed on this thread, if no request is queued, no delay was asked
  /// for, they fit one forward pass and a predictor is free; nil otherwise.
  func now(_ x: [Float], rows: Int) -> [Float]? {
    precondition(x.count == rows * inputs)
    if rows == 0 { return [] }
    guard maxDelay == 0, rows <= predictor.executor.plan.batchSize else { return nil }
    condition.lock()
    guard head == queue.count, !stopping else {
      condition.unlock()
      return nil
    }
    var free = spares.popLast()
    let make = free == nil && made < inlineMost
    if make { made += 1 }
    condition.unlock()
    if make { free = Predictor(model, batchSize: maxBatch) }
    guard let free else { return nil }
    let out = forward([x], rows: rows, on: free)
    condition.lock()
    spares.append(free)
    condition.unlock()
    observe(rows)
    return out
  }

  /// Requests waiting for a forward pass.
  public var waiting: Int {
    condition.lock()
    defer { condition.unlock() }
    return queue.count - head
  }

  /// Ends the thread once the queue is empty.
  public func stop() {
    condition.lock()
    stopping = true
    condition.signal()
    condition.unlock()
  }

  private func loop() {
    condition.lock()
    while true {
      while head == queue.count && !stopping { condition.wait() }
      if head == queue.count {
        condition.unlock()
        return
      }
      if maxDelay > 0 {
        let deadline = queue[head].arrived + maxDelay
        while queuedRows < maxBatch, !stopping {
          let now = DispatchTime.now().uptimeNanoseconds
          if now >= deadline { break }
          _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
        }
      }
      var jobs: [Job] = [queue[head]]
      var rows = queue[head].rows
      head += 1
      while head < queue.count, rows + queue[head].rows <= maxBatch {
        rows += queue[head].rows
        jobs.append(queue[head])
        head += 1
      }
      queuedRows -= rows
      if head > 1024, head * 2 > queue.count {
        queue.removeFirst(head)
        head = 0
      }
      condition.unlock()
      let out = forward(jobs.map(\.x), rows: rows, on: predictor)
      var at = 0
      for job in jobs {
        job.done.resume(returning: Array(out[at..<at + job.rows * outputs]))
        at += job.rows * outputs
      }
      observe(rows)
      condition.lock()
    }
  }

  /// The jobs' rows through the plan, at most a batch at a time.
  private func forward(_ jobs: [[Float]], rows: Int, on predictor: Predictor) -> [Float] {
    let batch = predictor.executor.plan.batchSize
    let x = jobs.count == 1 ? jobs[0] : Array(jobs.joined())
    return [Float](unsafeUninitializedCapacity: rows * outputs) { out, count in
      x.withUnsafeBufferPointer { x in
        var done = 0
        while done < rows {
          let n = min(batch, rows - done)
          let y = predictor.run(
            UnsafeBufferPointer(rebasing: x[done * inputs..<(done + n) * inputs]), rows: n)
          _ = UnsafeMutableBufferPointer(rebasing: out[done * outputs..<(done + n) * outputs])
            .initialize(from: y)
          done += n
        }
      }
      count = rows * outputs
    }
  }
}

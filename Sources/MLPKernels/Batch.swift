// Gathering a mini-batch: rows of a data set's feature and target matrices copied, in the order
// of a shuffled index list, into the input and target buffers. Large batches are gathered by
// every thread of the pool: the rows are scattered over the data set, so this is bound by memory
// latency, and two threads keep twice the misses in flight.
// R = rows gathered, I = input features, O = outputs.

/// x (R, I) row r = features row indices[r]; y (R, O) likewise from targets, when given.
public func gatherRows(
  features: UnsafePointer<Float>, targets: UnsafePointer<Float>, indices: UnsafePointer<Int>,
  rows: Int, inputs: Int, outputs: Int, x: UnsafeMutablePointer<Float>,
  y: UnsafeMutablePointer<Float>?
) {
  let parts = rows * inputs >= 1 << 14 ? WorkerPool.shared.count : 1
  WorkerPool.shared.run(parts) { part in
    for r in rows * part / parts..<rows * (part + 1) / parts {
      let sample = indices[r]
      (x + r * inputs).update(from: features + sample * inputs, count: inputs)
      if let y { (y + r * outputs).update(from: targets + sample * outputs, count: outputs) }
    }
  }
}

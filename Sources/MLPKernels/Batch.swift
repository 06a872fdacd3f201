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
      copy(features + sample * inputs, to: x + r * inputs, count: inputs)
      if let y { copy(targets + sample * outputs, to: y + r * outputs, count: outputs) }
    }
  }
}

/// A row copy: a plain loop for short rows (a call to memmove costs more than copying a few
/// floats), memmove for long ones.
@inline(__always)
private func copy(_ from: UnsafePointer<Float>, to: UnsafeMutablePointer<Float>, count: Int) {
  if count <= 32 {
    for i in 0..<count { to[i] = from[i] }
  } else {
    to.update(from: from, count: count)
  }
}

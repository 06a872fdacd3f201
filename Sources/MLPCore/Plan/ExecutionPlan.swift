// A compiled network: buffers laid out in one arena and the ops that train it. Built only by
// `PlanCompiler` from a `CheckedSpec`; immutable and printable (`mlpc plan`).

/// A contiguous run of floats in the arena.
public struct ArenaRange: Sendable, Equatable {
  public var offset: Int
  public var count: Int
}

/// The static plan of one training step for a fixed maximum batch size.
public struct ExecutionPlan: Sendable {
  /// The spec the plan was compiled from.
  public let spec: CheckedSpec
  /// Maximum rows per step (the spec's batch size).
  public let batchSize: Int
  public let buffers: [Buffer]
  /// dense ops, k = 1...N.
  public let forward: [Op]
  /// The fused loss and output-gradient op.
  public let loss: Op
  /// denseBackward ops, k = N...1.
  public let backward: [Op]
  public let update: Op
  /// All parameters, in the order W^1, b^1, W^2, b^2, … (with alignment padding).
  public let parameters: ArenaRange
  /// Gradients, laid out exactly like `parameters`.
  public let gradients: ArenaRange
  /// Optimizer state slots, each laid out exactly like `parameters`.
  public let optimizerState: [ArenaRange]
  /// Total floats in the arena.
  public let arenaCount: Int

  public let input: BufferID
  public let target: BufferID
  /// x^N
  public let output: BufferID
  /// W^k and b^k for k = 1...N (index k − 1).
  public let weights: [BufferID]
  public let biases: [BufferID]

  public subscript(_ id: BufferID) -> Buffer { buffers[id.index] }

  /// Number of trainable parameters (without padding).
  public var parameterCount: Int {
    buffers.filter { $0.role.isParameter }.reduce(0) { $0 + $1.count }
  }

  /// Forward and backward FLOPs per full batch for layer k (1-based): multiply-adds count 2.
  public func flops(layer k: Int) -> (forward: Int, backward: Int) {
    let w = spec.widths
    let mac = batchSize * w[k - 1] * w[k]
    let forward = 2 * mac + 2 * batchSize * w[k]
    let backward = 2 * mac + batchSize * w[k] + (k > 1 ? 2 * mac : 0)
    return (forward, backward)
  }

  /// FLOPs of one full training step (forward, backward and update).
  public var flopsPerStep: Int {
    (1...spec.layers.count).reduce(0) { $0 + flops(layer: $1).forward + flops(layer: $1).backward }
      + 4 * parameterCount
  }
}

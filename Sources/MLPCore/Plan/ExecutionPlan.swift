// A compiled network: buffers laid out in one arena and the ops that run it. Built only by
// `PlanCompiler` from a `Network`; immutable and printable (`mlpc plan`). It holds no data and
// no training schedule: those are handed to the trainer, evaluator and gradcheck beside it.

/// A contiguous run of floats in the arena.
public struct ArenaRange: Sendable, Equatable {
  public var offset: Int
  public var count: Int
}

/// The static plan of one step for a fixed maximum batch size: a training step (forward, loss,
/// backward, update) or, for an inference plan, a forward pass.
public struct ExecutionPlan: Sendable {
  /// The network the plan was compiled from.
  public let network: Network
  /// Maximum rows per step.
  public let batchSize: Int
  public let buffers: [Buffer]
  /// The embedding lookup (when the network has tables), then dense ops, k = 1...N.
  public let forward: [Op]
  /// The fused loss and output-gradient op (training plans).
  public internal(set) var loss: Op?
  /// An ensemble's ops around the loss: the targets (and loss weights) spread to every member
  /// before it, the members' outputs averaged into `output` after it.
  public internal(set) var beforeLoss: [Op] = []
  public internal(set) var afterLoss: [Op] = []
  /// denseBackward ops, k = N...1, then the tables' scatter-add (empty in an inference plan).
  public internal(set) var backward: [Op] = []
  public internal(set) var update: Op?
  /// All parameters, in the order W^1, b^1, W^2, b^2, …, then the embedding tables (with
  /// alignment padding).
  public let parameters: ArenaRange
  /// Gradients, laid out exactly like `parameters` (training plans).
  public internal(set) var gradients: ArenaRange?
  /// Optimizer state slots, each laid out exactly like `parameters`, and last the parameters'
  /// moving average when there is one (saved, restored and checkpointed with them).
  public internal(set) var optimizerState: [ArenaRange] = []
  /// The moving average of the parameters (`training.ema`), laid out like `parameters`.
  public internal(set) var average: ArenaRange?
  /// Total floats in the arena.
  public let arenaCount: Int

  public let input: BufferID
  /// y, the batch's targets (training plans).
  public internal(set) var target: BufferID?
  /// The loss weight of each row, and each class's weight (training with class weights).
  public internal(set) var sampleWeights: BufferID?
  public internal(set) var classWeights: [Float]?
  /// x^N (an ensemble's: the members' mean)
  public let output: BufferID
  /// W^k and b^k for k = 1...N (index k − 1).
  public let weights: [BufferID]
  public let biases: [BufferID]
  /// The embedding tables, in `network.embeddings` order.
  public var embeddings: [BufferID] = []
  /// The periodic embeddings' tensors, in `network.periodicTensors` order.
  public var periodic: [BufferID] = []
  /// The learned scale of x^0, when the network has one.
  public var frontScale: BufferID? = nil
  /// An ensemble's input adapters r (k, n^0).
  public var adapter: BufferID? = nil
  /// The BatchEnsemble layers' input and output scales (TabM), in layer order.
  public var memberScales: [BufferID] = []

  /// Every parameter tensor: W^k, b^k, the embedding tables, the periodic embeddings' tensors,
  /// the front scale, the adapters.
  public var parameterTensors: [BufferID] {
    weights + biases + embeddings + periodic + [frontScale, adapter].compactMap { $0 }
      + memberScales
  }

  public subscript(_ id: BufferID) -> Buffer { buffers[id.index] }

  /// Whether the plan can train (it has gradients, a loss and an update).
  public var isTraining: Bool { update != nil }

  /// The ops of one step in order: forward, loss, backward, update.
  public var ops: [Op] {
    forward + beforeLoss + [loss].compactMap { $0 } + afterLoss + backward
      + [update].compactMap { $0 }
  }

  /// Number of trainable parameters (without padding).
  public var parameterCount: Int {
    buffers.filter { $0.role.isParameter }.reduce(0) { $0 + $1.count }
  }

  /// Forward and backward FLOPs per full batch for layer k (1-based): multiply-adds count 2.
  /// An ensemble's layers run over k·B rows.
  public func flops(layer k: Int) -> (forward: Int, backward: Int) {
    let w = network.widths
    let rows = batchSize * network.members
    let mac = rows * w[k - 1] * w[k]
    let forward = 2 * mac + 2 * rows * w[k]
    // TabM-mini's adapted layer 1 takes ∂L/∂r from its weight gradient's per-member products,
    // not from ∂L/∂x^0.
    let passesDown =
      k > 1 || network.embedsInput || network.frontScale
      || (network.hasAdapters && !network.learnsAdaptersInFirstLayer)
    let backward = 2 * mac + rows * w[k] + (passesDown ? 2 * mac : 0)
    return (forward, isTraining ? backward : 0)
  }

  /// Forward and backward FLOPs per full batch of the periodic embeddings: each column's
  /// linear layer (multiply-adds count 2) and its 2K sines and cosines (counted 1 each).
  public var periodicFlops: (forward: Int, backward: Int) {
    let mac = network.periodic.reduce(0) { $0 + batchSize * $1.dim * 2 * $1.frequencies }
    let features = batchSize * network.periodicWidth
    return (2 * mac + features, isTraining ? 4 * mac + 3 * features : 0)
  }

  /// FLOPs of one full step (forward, backward and update).
  public var flopsPerStep: Int {
    (1...network.layers.count).reduce(0) {
      $0 + flops(layer: $1).forward + flops(layer: $1).backward
    } + periodicFlops.forward + periodicFlops.backward + (isTraining ? 4 * parameterCount : 0)
  }

  /// Steps of an epoch over `samples` rows (the last may be partial).
  public func steps(samples: Int) -> Int { (samples + batchSize - 1) / batchSize }
}

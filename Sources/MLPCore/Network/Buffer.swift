// Buffers of an execution plan: every tensor training touches, with its role, static shape and
// offset in the one arena. Shapes are computed here, before any number exists.

/// Index of a buffer in `ExecutionPlan.buffers`.
public struct BufferID: Hashable, Sendable, CustomStringConvertible {
  public let index: Int
  public var description: String { "%\(index)" }
}

/// What a buffer holds. Layers are numbered k = 1...N as in the mathematics.
public enum BufferRole: Hashable, Sendable {
  /// A batch of loaded rows, (B, n^0); with embeddings, (B, encoded columns), each embedded
  /// column holding its level's code.
  case input
  /// x^0 built from the loaded rows when there are embeddings, (B, n^0).
  case embedded
  /// Embedding table e of the feature block (0-based), (levels + 1, D).
  case embedding(table: Int)
  /// ∂L/∂E for table e, same shape.
  case embeddingGradient(table: Int)
  /// Tensor t of the periodic embeddings (`Network.periodicTensors` order).
  case periodic(tensor: Int)
  /// Its gradient, same shape.
  case periodicGradient(tensor: Int)
  /// The periodic embeddings' [cos 2πf·x, sin 2πf·x] for the batch, (B, Σ 2K).
  case periodicFeatures
  /// ∂L/∂ of those (scratch of the backward pass), (B, Σ 2K).
  case periodicFeaturesDelta
  /// The learned front scale s, (n^0).
  case frontScale
  /// ∂L/∂s, (n^0).
  case frontScaleGradient
  /// x^0 ⊙ s, what layer 1 reads when there is a front scale, (B, n^0).
  case scaledInput
  /// ∂L/∂(x^0 ⊙ s), (B, n^0).
  case scaledInputDelta
  /// y: a batch of targets, (B, n^N).
  case target
  /// W^k, (n^k, n^{k-1}).
  case weight(layer: Int)
  /// b^k, (n^k).
  case bias(layer: Int)
  /// ∂L/∂W^k, same shape as W^k.
  case weightGradient(layer: Int)
  /// ∂L/∂b^k, same shape as b^k.
  case biasGradient(layer: Int)
  /// x^k = σ^k(z^k), (B, n^k); z^k is computed in place and σ' is taken from x^k, except for
  /// activations that save their input (gelu, silu): then a training plan keeps z^k beside it.
  case activation(layer: Int)
  /// z^k = W^k x^{k-1} + b^k, (B, n^k): kept in training for activations whose σ' needs z.
  case preActivation(layer: Int)
  /// ∂L/∂z^k for the batch, (B, n^k) — the mini-batch form of Δ^k ⊙ σ^k'(z^k); for k = 0
  /// (with embeddings) ∂L/∂x^0.
  case delta(layer: Int)
  /// The loss weight of each row of the batch (its class's weight), (B).
  case sampleWeight
  /// Layer k's dropout mask, (B, n^k): 0 for a dropped value, 1/(1 − p) for a kept one.
  case dropoutMask(layer: Int)
  /// Optimizer state for every parameter (momentum velocity, Adam moments), parameter-shaped.
  case optimizerState(slot: Int)
  /// The moving average of the parameters (`training.ema`), parameter-shaped.
  case parameterAverage
  /// An ensemble's input adapters r (TabM-mini), (k, n^0): member m reads x^0 ⊙ r_m.
  case ensembleAdapter
  /// ∂L/∂r, (k, n^0).
  case ensembleAdapterGradient
  /// A BatchEnsemble layer's input scales r (k, n^{k-1}) (layers after the first) and output
  /// scales s (k, n^k), and their gradients.
  case memberInputScale(layer: Int)
  case memberOutputScale(layer: Int)
  case memberInputScaleGradient(layer: Int)
  case memberOutputScaleGradient(layer: Int)
  /// A BatchEnsemble layer's x^{k-1} ⊙ r_m (k·B, n^{k-1}) and its product (k·B, n^k).
  case memberScaledInput(layer: Int)
  case memberProduct(layer: Int)
  /// What layer 1 reads in an ensemble: each member's copy of the batch scaled by its adapter,
  /// member-major, (k·B, n^0); every later batch buffer has k·B rows too.
  case memberInput
  /// ∂L/∂(member input), (k·B, n^0).
  case memberInputDelta
  /// TabM-mini's layer 1 backward takes ∂L/∂r from each member's δ_mᵀ · x^0 (k, n^1, n^0),
  /// `memberWeightProduct`, instead of from ∂L/∂(member input); and, when ∂L/∂x^0 is needed,
  /// each member's W^1 ⊙ r_m (k, n^1, n^0), `memberWeight`.
  case memberWeight
  case memberWeightProduct
  /// TabM-mini's layer 1 over inputs that may be runs of ones and zeros (AdaptedDense.swift):
  /// each row's terms (B, n^0), W^1ᵀ (n^0, n^1), the rows' pieces sorted by block, column and kind (B + 8, n^0).
  case runTerms
  case runTransposed
  case runPieces
  /// The batch's targets repeated for every member, (k·B, n^N).
  case memberTarget
  /// The rows' loss weights repeated for every member, (k·B).
  case memberSampleWeight
  /// The ensemble's prediction: the members' x^N averaged, (B, n^N).
  case ensembleOutput

  /// Whether the buffer is a trainable parameter.
  public var isParameter: Bool {
    switch self {
    case .weight, .bias, .embedding, .periodic, .frontScale, .ensembleAdapter, .memberInputScale,
      .memberOutputScale:
      true
    default: false
    }
  }

  /// Whether the buffer is a parameter's gradient.
  public var isGradient: Bool {
    switch self {
    case .weightGradient, .biasGradient, .embeddingGradient, .periodicGradient,
      .frontScaleGradient, .ensembleAdapterGradient, .memberInputScaleGradient,
      .memberOutputScaleGradient:
      true
    default: false
    }
  }
}

/// One tensor in the arena.
public struct Buffer: Sendable {
  public let id: BufferID
  public let name: String
  public let role: BufferRole
  /// Row-major shape; the first dimension of batch buffers is the plan's batch size.
  public let shape: [Int]
  /// Offset in floats from the arena's start (64-byte aligned).
  public let offset: Int

  /// Number of floats.
  public var count: Int { shape.reduce(1, *) }
}

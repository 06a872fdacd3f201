// The ops of an execution plan. Each names its operands by buffer id; the plan compiler checks
// every operand's shape when it emits the op. `rows` (≤ batch size) is supplied at run time so
// the last, partial batch of an epoch runs over the same plan.

/// One step of forward, loss, backward or update.
public enum Op: Sendable {
  /// x^k = σ^k(x^{k-1} · W^kᵀ + b^k); input (B, I), weight (O, I), bias (O), output (B, O).
  case dense(
    layer: Int, input: BufferID, weight: BufferID, bias: BufferID, output: BufferID,
    activation: Activation, parameter: Float)
  /// l = mean over rows of the loss (each row's × its weight, when there are weights);
  /// delta = ∂L/∂z^N (fused with the output activation).
  case loss(
    LossKind, output: BufferID, target: BufferID, delta: BufferID, activation: Activation,
    parameter: Float, weights: BufferID?)
  /// ∂L/∂W^k += deltaᵀ · input; ∂L/∂b^k += Σ_rows delta; and, unless k = 1,
  /// inputDelta = (delta · W^k) ⊙ σ^{k-1}'(z^{k-1}) with σ' taken from the input activation.
  case denseBackward(
    layer: Int, delta: BufferID, input: BufferID, weight: BufferID, weightGradient: BufferID,
    biasGradient: BufferID, inputDelta: BufferID?, inputActivation: Activation,
    inputParameter: Float)
  /// Training only: draws layer k's mask (seeded by the step) and multiplies its output by it.
  case dropout(layer: Int, output: BufferID, mask: BufferID, rate: Float)
  /// delta ← delta ⊙ mask ⊙ σ^k'(z^k), undoing the mask on the output first (dropped values
  /// get delta 0); comes after the backward op that read the masked output.
  case dropoutBackward(
    layer: Int, delta: BufferID, output: BufferID, mask: BufferID, activation: Activation,
    parameter: Float)
  /// Every parameter ← optimizer step over the flat parameter, gradient and state ranges.
  case update(OptimizerKind, UpdateRule)
}

// Parameter updates: one flat loop each over the parameter, gradient and state ranges, which
// share one layout (so padding stays zero and no per-tensor bookkeeping is needed).
// PyTorch's conventions: momentum v ← μv + g, p ← p − ηv; Nesterov p ← p − η(g + μv); Adam
// with bias correction; weight decay λ adds λp to the gradient (L2), except in AdamW, which
// decays the parameters directly (p ← p(1 − ηλ)) and gives Adam the raw gradient.

import Foundation

/// The parameter update rule.
public enum OptimizerKind: String, CaseIterable, Sendable {
  case sgd, momentum, nesterov, adam, adamw, rmsprop

  /// Parameter-shaped state slots: the velocity of momentum and Nesterov, Adam's two moments,
  /// RMSprop's mean square, momentum buffer and mean gradient (centred).
  public var stateSlots: Int {
    switch self {
    case .sgd: 0
    case .momentum, .nesterov: 1
    case .adam, .adamw: 2
    case .rmsprop: 3
    }
  }

  /// The `training` settings the update reads besides the learning rate, weight decay and
  /// clipping (which every optimizer reads): any other is set to no effect (a warning).
  public var reads: Set<String> {
    switch self {
    case .sgd: []
    case .momentum, .nesterov: ["momentum"]
    case .adam, .adamw: ["beta1", "beta2", "epsilon"]
    case .rmsprop: ["momentum", "alpha", "centered", "epsilon"]
    }
  }
}

/// Hyperparameters of one update.
public struct UpdateRule: Sendable, Equatable {
  public var learningRate: Float
  public var weightDecay: Float
  public var momentum: Float
  public var beta1: Float
  public var beta2: Float
  public var epsilon: Float
  /// Gradient clipping before the update: every value into [−clipValue, clipValue], then the
  /// whole gradient scaled by clipNorm / (‖g‖₂ + 1e-6) when that is below 1 (PyTorch's
  /// clip_grad_value_ and clip_grad_norm_, over all parameters at once).
  public var clipNorm: Float?
  public var clipValue: Float?
  /// RMSprop's decay rate of the mean square, and whether it is centred.
  public var alpha: Float
  public var centered: Bool

  public init(
    learningRate: Float, weightDecay: Float, momentum: Float, beta1: Float, beta2: Float,
    epsilon: Float, clipNorm: Float? = nil, clipValue: Float? = nil, alpha: Float = 0.99,
    centered: Bool = false
  ) {
    (self.learningRate, self.weightDecay, self.momentum) = (learningRate, weightDecay, momentum)
    (self.beta1, self.beta2, self.epsilon) = (beta1, beta2, epsilon)
    (self.clipNorm, self.clipValue) = (clipNorm, clipValue)
    (self.alpha, self.centered) = (alpha, centered)
  }
}

/// Clips the gradient g[0..<count] as `rule` says (the layout's padding is zero, so it does
/// not change the norm).
func clipGradient(_ g: UnsafeMutablePointer<Float>, count: Int, _ rule: UpdateRule) {
  if let v = rule.clipValue {
    for i in 0..<count { g[i] = min(max(g[i], -v), v) }
  }
  if let maxNorm = rule.clipNorm {
    var sum: Float = 0
    for i in 0..<count { sum = sum.addingProduct(g[i], g[i]) }
    let coefficient = maxNorm / (sum.squareRoot() + 1e-6)
    if coefficient < 1 {
      for i in 0..<count { g[i] *= coefficient }
    }
  }
}

/// Whether every value is finite: the largest magnitude's bit pattern lies below infinity's
/// (an integer max, which vectorises, read while the values are still in cache).
@inline(__always)
func allFinite(_ p: UnsafePointer<Float>, count: Int) -> Bool {
  var largest: UInt32 = 0
  for i in 0..<count { largest = max(largest, p[i].bitPattern & 0x7FFF_FFFF) }
  return largest < 0x7F80_0000
}

/// p ← p − η (g + λp)
func sgdUpdate(
  _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, count: Int, _ rule: UpdateRule
) {
  let (lr, wd) = (rule.learningRate, rule.weightDecay)
  for i in 0..<count { p[i] -= lr * (g[i] + wd * p[i]) }
}

/// v ← μv + (g + λp); p ← p − ηv
func momentumUpdate(
  _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ v: UnsafeMutablePointer<Float>,
  count: Int, _ rule: UpdateRule
) {
  let (lr, wd, mu) = (rule.learningRate, rule.weightDecay, rule.momentum)
  for i in 0..<count {
    v[i] = mu * v[i] + g[i] + wd * p[i]
    p[i] -= lr * v[i]
  }
}

/// v ← μv + (g + λp); p ← p − η((g + λp) + μv)  (torch.optim.SGD with nesterov=True)
func nesterovUpdate(
  _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ v: UnsafeMutablePointer<Float>,
  count: Int, _ rule: UpdateRule
) {
  let (lr, wd, mu) = (rule.learningRate, rule.weightDecay, rule.momentum)
  for i in 0..<count {
    let grad = g[i] + wd * p[i]
    v[i] = mu * v[i] + grad
    p[i] -= lr * (grad + mu * v[i])
  }
}

/// AdamW (Loshchilov & Hutter, torch.optim.AdamW): p ← p(1 − ηλ), then Adam on the raw g.
func adamwUpdate(
  _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
  _ v: UnsafeMutablePointer<Float>, count: Int, step t: Int, _ rule: UpdateRule
) {
  let decay = 1 - rule.learningRate * rule.weightDecay
  for i in 0..<count { p[i] *= decay }
  var adam = rule
  adam.weightDecay = 0
  adamUpdate(p, g, m, v, count: count, step: t, adam)
}

/// Adam (Kingma & Ba) at step t ≥ 1.
func adamUpdate(
  _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
  _ v: UnsafeMutablePointer<Float>, count: Int, step t: Int, _ rule: UpdateRule
) {
  let (b1, b2) = (rule.beta1, rule.beta2)
  let c1 = 1 - Float(pow(Double(b1), Double(t)))
  let c2 = 1 - Float(pow(Double(b2), Double(t)))
  let stepSize = rule.learningRate / c1
  let invC2 = 1 / c2
  for i in 0..<count {
    let grad = g[i] + rule.weightDecay * p[i]
    m[i] = b1 * m[i] + (1 - b1) * grad
    v[i] = b2 * v[i] + (1 - b2) * grad * grad
    p[i] -= stepSize * m[i] / ((v[i] * invC2).squareRoot() + rule.epsilon)
  }
}

/// RMSprop (torch.optim.RMSprop): with g = grad + λp, s ← αs + (1 − α)g²; centred: ḡ ← ḡ + (1 − α)(g − ḡ)
/// and the denominator √(s − ḡ²) + ε, else √s + ε; with momentum μ > 0, b ← μb + g/den,
/// p ← p − ηb, else p ← p − ηg/den.
func rmspropUpdate(
  _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>,
  _ b: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>, count: Int,
  _ rule: UpdateRule
) {
  let (lr, wd, mu, alpha, eps) = (
    rule.learningRate, rule.weightDecay, rule.momentum, rule.alpha, rule.epsilon
  )
  for i in 0..<count {
    let grad = g[i] + wd * p[i]
    s[i] = alpha * s[i] + (1 - alpha) * grad * grad
    var average = s[i]
    if rule.centered {
      mean[i] += (1 - alpha) * (grad - mean[i])
      average -= mean[i] * mean[i]
    }
    let denominator = average.squareRoot() + eps
    if mu > 0 {
      b[i] = mu * b[i] + grad / denominator
      p[i] -= lr * b[i]
    } else {
      p[i] -= lr * grad / denominator
    }
  }
}

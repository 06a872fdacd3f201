// Parameter updates: one flat loop each over the parameter, gradient and state ranges, which
// share one layout (so padding stays zero and no per-tensor bookkeeping is needed).
// PyTorch's conventions: momentum v ← μv + g, p ← p − ηv; Nesterov p ← p − η(g + μv); Adam
// with bias correction; weight decay λ adds λp to the gradient (L2), except in AdamW, which
// decays the parameters directly (p ← p(1 − ηλ)) and gives Adam the raw gradient.

import Foundation

#if arch(x86_64)
  import _Builtin_intrinsics.intel
#endif

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

/// A parameter update over flat ranges: each optimizer is a type holding its own settings; the
/// learning rate and the step number are passed when it runs.
/// p = parameters, g = gradients, `state` = `kind.stateSlots` ranges shaped like p. A new
/// optimizer is a type here, a case of `UpdateRule` and of `OptimizerKind`, and its construction
/// from the configuration (TrainingConfig.updateRule).
public protocol Optimizer: Sendable {
  /// The optimizer's name in the spec.
  var kind: OptimizerKind { get }
  /// Updates p[0..<count] (with g and every state slot) at learning rate η and step t ≥ 1.
  func update(
    _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
    state: StateSlots<UnsafeMutablePointer<Float>>, count: Int, learningRate: Float, step: Int)
}

/// SGD with L2 weight decay λ.
public struct SGD: Optimizer {
  public var weightDecay: Float
  public init(weightDecay: Float) { self.weightDecay = weightDecay }
  public var kind: OptimizerKind { .sgd }
  public func update(
    _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
    state: StateSlots<UnsafeMutablePointer<Float>>, count: Int, learningRate: Float, step: Int
  ) {
    sgdUpdate(p, g, count: count, lr: learningRate, wd: weightDecay)
  }
}

/// SGD with momentum μ, classical or Nesterov's (torch.optim.SGD), and L2 weight decay λ.
public struct Momentum: Optimizer {
  public var momentum: Float
  public var weightDecay: Float
  public var nesterov: Bool
  public init(momentum: Float, weightDecay: Float, nesterov: Bool) {
    (self.momentum, self.weightDecay, self.nesterov) = (momentum, weightDecay, nesterov)
  }
  public var kind: OptimizerKind { nesterov ? .nesterov : .momentum }
  public func update(
    _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
    state: StateSlots<UnsafeMutablePointer<Float>>, count: Int, learningRate: Float, step: Int
  ) {
    if nesterov {
      nesterovUpdate(
        p, g, state.first!, count: count, lr: learningRate, wd: weightDecay, mu: momentum)
    } else {
      momentumUpdate(
        p, g, state.first!, count: count, lr: learningRate, wd: weightDecay, mu: momentum)
    }
  }
}

/// Adam with bias correction; `decoupled` is AdamW (weight decay applied to p directly).
public struct Adam: Optimizer {
  public var beta1: Float
  public var beta2: Float
  public var epsilon: Float
  public var weightDecay: Float
  public var decoupled: Bool
  public init(beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, decoupled: Bool) {
    (self.beta1, self.beta2, self.epsilon) = (beta1, beta2, epsilon)
    (self.weightDecay, self.decoupled) = (weightDecay, decoupled)
  }
  public var kind: OptimizerKind { decoupled ? .adamw : .adam }
  public func update(
    _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
    state: StateSlots<UnsafeMutablePointer<Float>>, count: Int, learningRate: Float, step: Int
  ) {
    // AdamW's decoupled decay p ← p(1 − ηλ) is taken in Adam's own pass over p (each value
    // decayed, then updated, as torch.optim.AdamW does in two passes: the same operations in
    // the same order, so the same results, with one pass over the parameters fewer).
    adamUpdate(
      p, g, state.first!, state.second!, count: count, step: step, lr: learningRate,
      wd: decoupled ? 0 : weightDecay, decay: decoupled ? 1 - learningRate * weightDecay : 1,
      b1: beta1, b2: beta2, eps: epsilon)
  }
}

/// RMSprop (torch.optim.RMSprop): decay α, ε, optional momentum μ and centring, L2 decay λ.
public struct RMSprop: Optimizer {
  public var alpha: Float
  public var epsilon: Float
  public var momentum: Float
  public var centered: Bool
  public var weightDecay: Float
  public init(alpha: Float, epsilon: Float, momentum: Float, centered: Bool, weightDecay: Float) {
    (self.alpha, self.epsilon, self.momentum) = (alpha, epsilon, momentum)
    (self.centered, self.weightDecay) = (centered, weightDecay)
  }
  public var kind: OptimizerKind { .rmsprop }
  public func update(
    _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
    state: StateSlots<UnsafeMutablePointer<Float>>, count: Int, learningRate: Float, step: Int
  ) {
    rmspropUpdate(
      p, g, state.first!, state.second!, state.third!, count: count,
      lr: learningRate, self)
  }
}

/// The configured optimizer, one case per optimizer type: an op holding it stays plain data (no
/// reference counting in the step), and the update dispatches statically.
public enum UpdateRule: Sendable {
  case sgd(SGD)
  case momentum(Momentum)
  case adam(Adam)
  case rmsprop(RMSprop)

  /// The optimizer of this case.
  public var optimizer: any Optimizer {
    switch self {
    case .sgd(let o): o
    case .momentum(let o): o
    case .adam(let o): o
    case .rmsprop(let o): o
    }
  }

  public var kind: OptimizerKind { optimizer.kind }

  /// The same optimizer with its weight decay times `factor`.
  public func scalingWeightDecay(_ factor: Float) -> UpdateRule {
    switch self {
    case .sgd(var o):
      o.weightDecay *= factor
      return .sgd(o)
    case .momentum(var o):
      o.weightDecay *= factor
      return .momentum(o)
    case .adam(var o):
      o.weightDecay *= factor
      return .adam(o)
    case .rmsprop(var o):
      o.weightDecay *= factor
      return .rmsprop(o)
    }
  }

  /// Whether the weight decay is decoupled from the gradient (AdamW's θ ← θ(1 − ηλ)).
  public var decouplesWeightDecay: Bool {
    if case .adam(let o) = self { o.decoupled } else { false }
  }

  /// The optimizer's update of p[range], g[range] and each state slot's range.
  @inline(__always)
  func update(
    _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
    state: StateSlots<UnsafeMutablePointer<Float>>, range: Range<Int>, learningRate: Float,
    step: Int
  ) {
    let lo = range.lowerBound
    let (p, g, state, count) = (p + lo, g + lo, state.map { $0 + lo }, range.count)
    switch self {
    case .sgd(let o):
      o.update(p, g, state: state, count: count, learningRate: learningRate, step: step)
    case .momentum(let o):
      o.update(p, g, state: state, count: count, learningRate: learningRate, step: step)
    case .adam(let o):
      o.update(p, g, state: state, count: count, learningRate: learningRate, step: step)
    case .rmsprop(let o):
      o.update(p, g, state: state, count: count, learningRate: learningRate, step: step)
    }
  }
}

/// The optimizer state slots of an update (at most three: RMSprop's), by their first buffers.
public struct StateSlots<Ref> {
  public var first: Ref?
  public var second: Ref?
  public var third: Ref?

  public init(_ slots: [Ref]) {
    precondition(slots.count <= 3, "an optimizer has at most three state slots")
    (first, second, third) = (slots.first, slots.dropFirst().first, slots.dropFirst(2).first)
  }

  private init(_ first: Ref?, _ second: Ref?, _ third: Ref?) {
    (self.first, self.second, self.third) = (first, second, third)
  }

  /// The same slots over other references (no allocation: it runs in every update).
  public func map<T>(_ f: (Ref) -> T) -> StateSlots<T> {
    StateSlots<T>(first.map(f), second.map(f), third.map(f))
  }
}

extension StateSlots: Sendable where Ref: Sendable {}

/// Gradient clipping before the update: every value into [−value, value], then the whole
/// gradient scaled by norm / (‖g‖₂ + 1e-6) when that is below 1 (PyTorch's clip_grad_value_ and
/// clip_grad_norm_, over all parameters at once).
public struct GradientClipping: Sendable, Equatable {
  public var value: Float?
  public var norm: Float?
  public init(value: Float?, norm: Float?) { (self.value, self.norm) = (value, norm) }
  public var isActive: Bool { value != nil || norm != nil }
}

/// Clips the gradient g[0..<count] as `clipping` says (the layout's padding is zero, so it does
/// not change the norm).
func clipGradient(_ g: UnsafeMutablePointer<Float>, count: Int, _ clipping: GradientClipping) {
  if let v = clipping.value {
    for i in 0..<count { g[i] = min(max(g[i], -v), v) }
  }
  if let maxNorm = clipping.norm {
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
  _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, count: Int, lr: Float, wd: Float
) {
  for i in 0..<count { p[i] -= lr * (g[i] + wd * p[i]) }
}

/// v ← μv + (g + λp); p ← p − ηv
func momentumUpdate(
  _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ v: UnsafeMutablePointer<Float>,
  count: Int, lr: Float, wd: Float, mu: Float
) {
  for i in 0..<count {
    v[i] = mu * v[i] + g[i] + wd * p[i]
    p[i] -= lr * v[i]
  }
}

/// v ← μv + (g + λp); p ← p − η((g + λp) + μv)  (torch.optim.SGD with nesterov=True)
func nesterovUpdate(
  _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ v: UnsafeMutablePointer<Float>,
  count: Int, lr: Float, wd: Float, mu: Float
) {
  for i in 0..<count {
    let grad = g[i] + wd * p[i]
    v[i] = mu * v[i] + grad
    p[i] -= lr * (grad + mu * v[i])
  }
}

/// Adam (Kingma & Ba) at step t ≥ 1, with L2 decay `wd` (added to the gradient) and each
/// parameter first multiplied by `decay` (AdamW's decoupled decay 1 − ηλ; 1 for Adam).
func adamUpdate(
  _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
  _ v: UnsafeMutablePointer<Float>, count: Int, step t: Int, lr: Float, wd: Float,
  decay: Float = 1, b1: Float, b2: Float, eps: Float
) {
  let c1 = 1 - Float(pow(Double(b1), Double(t)))
  let c2 = 1 - Float(pow(Double(b2), Double(t)))
  let stepSize = lr / c1
  let invC2 = 1 / c2
  // Eight at a time, written out: the compiler leaves the loop below scalar (four pointers it
  // cannot prove apart), and a square root and a division per element then cost 3 ns each.
  // The operations and their order are the same, so the results are too.
  typealias V = SIMD8<Float>
  let vector = count / 8 * 8
  var i = 0
  while i < vector {
    let (pi, gi) = (UnsafeMutableRawPointer(p + i), UnsafeRawPointer(g + i))
    let (mi, vi) = (UnsafeMutableRawPointer(m + i), UnsafeMutableRawPointer(v + i))
    let pv = pi.loadUnaligned(as: V.self) * decay  // × 1 leaves every value as it is
    let grad = gi.loadUnaligned(as: V.self) + wd * pv
    let mv = b1 * mi.loadUnaligned(as: V.self) + (1 - b1) * grad
    let vv = b2 * vi.loadUnaligned(as: V.self) + (1 - b2) * grad * grad
    mi.storeBytes(of: mv, as: V.self)
    vi.storeBytes(of: vv, as: V.self)
    pi.storeBytes(of: pv - stepSize * mv / (squareRoot(vv * invC2) + eps), as: V.self)
    i += 8
  }
  for i in vector..<count {
    p[i] *= decay
    let grad = g[i] + wd * p[i]
    m[i] = b1 * m[i] + (1 - b1) * grad
    v[i] = b2 * v[i] + (1 - b2) * grad * grad
    p[i] -= stepSize * m[i] / ((v[i] * invC2).squareRoot() + eps)
  }
}

/// √v in one instruction. SIMD8's `squareRoot()` calls `sqrtf` once per lane here (a scalar
/// square root, then a branch to the C library's for errno), eight times the work: Adam's update
/// of 23,000 parameters took 35 µs that way on one thread. Both are correctly rounded, so the
/// bits are the same.
@inline(__always)
private func squareRoot(_ v: SIMD8<Float>) -> SIMD8<Float> {
  #if arch(x86_64)
    _mm256_sqrt_ps(v)
  #else
    v.squareRoot()
  #endif
}

/// RMSprop (torch.optim.RMSprop): with g = grad + λp, s ← αs + (1 − α)g²; centred: ḡ ← ḡ + (1 − α)(g − ḡ)
/// and the denominator √(s − ḡ²) + ε, else √s + ε; with momentum μ > 0, b ← μb + g/den,
/// p ← p − ηb, else p ← p − ηg/den.
func rmspropUpdate(
  _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>,
  _ b: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>, count: Int, lr: Float,
  _ o: RMSprop
) {
  let (wd, mu, alpha, eps) = (o.weightDecay, o.momentum, o.alpha, o.epsilon)
  for i in 0..<count {
    let grad = g[i] + wd * p[i]
    s[i] = alpha * s[i] + (1 - alpha) * grad * grad
    var average = s[i]
    if o.centered {
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

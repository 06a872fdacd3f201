// Element-wise activations, each defined once: its name, the forward the kernels run, its
// derivative written in terms of the output x = σ(z) (so backward needs no z) or, for the
// activations whose derivative x does not determine (gelu, silu: not monotonic), in terms of z,
// which training plans then keep beside x; the double-precision formula gradcheck
// differentiates, its default initialiser, whether it has a kink at 0, and its parameter if it
// takes one. Adding an activation is one case, one `visit`
// line and one struct in this file. The epilogue kernels (bias add then σ, and g ⊙ σ') are
// generic over a definition, so every activation gets its own vectorised loop.
// R = rows, C = columns; row-major, leading dimension C.

import Foundation

/// Element-wise activation σ applied after a layer's affine map.
public enum Activation: String, CaseIterable, Sendable {
  case identity, sigmoid, tanh, relu
  case leakyRelu = "leaky_relu"
  case elu, softplus, softmax
  /// GELU, z·Φ(z) (Hendrycks and Gimpel), as PyTorch's `nn.GELU()`.
  case gelu
  /// GELU's tanh approximation, as PyTorch's `nn.GELU(approximate='tanh')`.
  case geluTanh = "gelu_tanh"
  /// SiLU (swish), z·sigmoid(z), as PyTorch's `nn.SiLU()`.
  case silu

  /// Calls `visitor` with this activation's definition: the only switch over activations.
  @inlinable @inline(__always)
  public func visit<V: ActivationVisitor>(_ visitor: V) -> V.Result {
    switch self {
    case .identity: visitor.visit(Identity.self)
    case .sigmoid: visitor.visit(Sigmoid.self)
    case .tanh: visitor.visit(Tanh.self)
    case .relu: visitor.visit(Relu.self)
    case .leakyRelu: visitor.visit(LeakyRelu.self)
    case .elu: visitor.visit(Elu.self)
    case .softplus: visitor.visit(Softplus.self)
    case .softmax: visitor.visit(Softmax.self)
    case .gelu: visitor.visit(Gelu.self)
    case .geluTanh: visitor.visit(GeluTanh.self)
    case .silu: visitor.visit(Silu.self)
    }
  }

  /// This activation's definition.
  public var definition: any ActivationDefinition.Type { visit(DefinitionOf()) }
  /// One line for documentation.
  public var summary: String { definition.summary }
  /// The parameter it takes, if any (leaky_relu's slope, elu's alpha).
  public var parameter: ActivationParameter? { definition.parameter }
  /// The initialiser `init: auto` picks.
  public var defaultInitializer: InitKind { definition.defaultInitializer }
  /// Whether σ' jumps at z = 0 (finite differences across 0 are meaningless there).
  public var hasKinkAtZero: Bool { definition.hasKinkAtZero }
  /// Whether σ' is taken from z rather than from x = σ(z): training plans then keep z^k.
  public var savesInput: Bool { definition.savesInput }
  /// σ over one row in double precision, from the defining formula.
  public func reference(_ z: [Double], parameter p: Double) -> [Double] {
    definition.reference(row: z, p)
  }
}

/// How a layer's weights are initialised.
public enum InitKind: String, CaseIterable, Sendable {
  /// The activation's default: He for relu-like activations, Glorot otherwise.
  case auto
  case glorot, he
}

/// A named, real parameter of an activation, with its default.
public struct ActivationParameter: Sendable, Equatable {
  /// The layer key that sets it.
  public let key: String
  public let defaultValue: Double
  public let summary: String
}

/// Everything about one activation. p is the activation's parameter (0 when it has none).
public protocol ActivationDefinition {
  /// σ(z) as the kernels compute it (branch-free where it matters, so loops vectorise).
  static func forward(_ z: Float, _ p: Float) -> Float
  /// g · σ'(z), with σ' written in terms of the saved value s: x = σ(z), or z itself when
  /// `savesInput`.
  static func backward(_ g: Float, saved s: Float, _ p: Float) -> Float
  /// σ(z) in double precision from the defining formula.
  static func reference(_ z: Double, _ p: Double) -> Double
  /// σ over a whole row in double precision (softmax overrides; others map `reference`).
  static func reference(row z: [Double], _ p: Double) -> [Double]
  static var summary: String { get }
  static var parameter: ActivationParameter? { get }
  static var defaultInitializer: InitKind { get }
  static var hasKinkAtZero: Bool { get }
  /// Whether σ couples a row (softmax); then `forward`/`backward` are unused.
  static var isRowWise: Bool { get }
  /// Whether `backward` takes z instead of x = σ(z).
  static var savesInput: Bool { get }
}

extension ActivationDefinition {
  public static func reference(row z: [Double], _ p: Double) -> [Double] {
    z.map { reference($0, p) }
  }
  public static var parameter: ActivationParameter? { nil }
  public static var defaultInitializer: InitKind { .glorot }
  public static var hasKinkAtZero: Bool { false }
  @inlinable public static var isRowWise: Bool { false }
  @inlinable public static var savesInput: Bool { false }
}

/// Code that runs with an activation's definition as a generic parameter (so it specialises).
public protocol ActivationVisitor {
  associatedtype Result
  func visit<A: ActivationDefinition>(_ activation: A.Type) -> Result
}

private struct DefinitionOf: ActivationVisitor {
  func visit<A: ActivationDefinition>(_ a: A.Type) -> any ActivationDefinition.Type { a }
}

@usableFromInline enum Identity: ActivationDefinition {
  @usableFromInline static let summary = "σ(z) = z"
  @inlinable @inline(__always) static func forward(_ z: Float, _ p: Float) -> Float { z }
  @inlinable @inline(__always) static func backward(_ g: Float, saved x: Float, _ p: Float)
    -> Float
  { g }
  @usableFromInline static func reference(_ z: Double, _ p: Double) -> Double { z }
}

@usableFromInline enum Sigmoid: ActivationDefinition {
  @usableFromInline static let summary = "σ(z) = 1 / (1 + e^−z)"
  @inlinable @inline(__always) static func forward(_ z: Float, _ p: Float) -> Float {
    fastSigmoid(z)
  }
  @inlinable @inline(__always) static func backward(_ g: Float, saved x: Float, _ p: Float)
    -> Float
  {
    g * (x * (1 - x))
  }
  @usableFromInline static func reference(_ z: Double, _ p: Double) -> Double { 1 / (1 + exp(-z)) }
}

@usableFromInline enum Tanh: ActivationDefinition {
  @usableFromInline static let summary = "σ(z) = tanh z"
  @inlinable @inline(__always) static func forward(_ z: Float, _ p: Float) -> Float { fastTanh(z) }
  @inlinable @inline(__always) static func backward(_ g: Float, saved x: Float, _ p: Float)
    -> Float
  {
    g * (1 - x * x)
  }
  @usableFromInline static func reference(_ z: Double, _ p: Double) -> Double { Foundation.tanh(z) }
}

@usableFromInline enum Relu: ActivationDefinition {
  @usableFromInline static let summary = "σ(z) = max(z, 0)"
  @usableFromInline static let defaultInitializer = InitKind.he
  @usableFromInline static let hasKinkAtZero = true
  @inlinable @inline(__always) static func forward(_ z: Float, _ p: Float) -> Float { max(z, 0) }
  @inlinable @inline(__always) static func backward(_ g: Float, saved x: Float, _ p: Float)
    -> Float
  {
    x > 0 ? g : 0
  }
  @usableFromInline static func reference(_ z: Double, _ p: Double) -> Double { max(z, 0) }
}

@usableFromInline enum LeakyRelu: ActivationDefinition {
  @usableFromInline static let summary = "σ(z) = z for z > 0, p·z otherwise"
  @usableFromInline static let parameter: ActivationParameter? = ActivationParameter(
    key: "negative_slope", defaultValue: 0.01, summary: "slope p for z < 0 (leaky_relu)")
  @usableFromInline static let defaultInitializer = InitKind.he
  @usableFromInline static let hasKinkAtZero = true
  @inlinable @inline(__always) static func forward(_ z: Float, _ p: Float) -> Float {
    z > 0 ? z : p * z
  }
  @inlinable @inline(__always) static func backward(_ g: Float, saved x: Float, _ p: Float)
    -> Float
  {
    x > 0 ? g : p * g
  }
  @usableFromInline static func reference(_ z: Double, _ p: Double) -> Double { z > 0 ? z : p * z }
}

/// ELU (Clevert et al.): for z ≤ 0, x = α(e^z − 1), so σ' = α e^z = x + α.
@usableFromInline enum Elu: ActivationDefinition {
  @usableFromInline static let summary = "σ(z) = z for z > 0, p·(e^z − 1) otherwise"
  @usableFromInline static let parameter: ActivationParameter? = ActivationParameter(
    key: "alpha", defaultValue: 1, summary: "scale p of the negative part (elu)")
  @usableFromInline static let defaultInitializer = InitKind.he
  @usableFromInline static let hasKinkAtZero = true
  @inlinable @inline(__always) static func forward(_ z: Float, _ p: Float) -> Float {
    z > 0 ? z : p * (fastExp(z) - 1)
  }
  @inlinable @inline(__always) static func backward(_ g: Float, saved x: Float, _ p: Float)
    -> Float
  {
    x > 0 ? g : g * (x + p)
  }
  @usableFromInline static func reference(_ z: Double, _ p: Double) -> Double {
    z > 0 ? z : p * expm1(z)
  }
}

@usableFromInline enum Softplus: ActivationDefinition {
  @usableFromInline static let summary = "σ(z) = log(1 + e^z)"
  /// log(1 + e^z) without overflow.
  @inlinable @inline(__always) static func forward(_ z: Float, _ p: Float) -> Float {
    max(z, 0) + log1pf(expf(-abs(z)))
  }
  /// σ'(z) = 1 / (1 + e^−z) = 1 − e^{−softplus(z)}
  @inlinable @inline(__always) static func backward(_ g: Float, saved x: Float, _ p: Float)
    -> Float
  {
    g * -expm1f(-x)
  }
  @usableFromInline static func reference(_ z: Double, _ p: Double) -> Double {
    log1p(exp(-abs(z))) + max(z, 0)
  }
}

/// GELU, x = z·Φ(z) = ½z(1 + erf(z/√2)); σ'(z) = Φ(z) + z·φ(z) with φ(z) = e^{−z²/2}/√(2π).
/// The float forward is PyTorch's formula with a rational erf (`fastErf`).
@usableFromInline enum Gelu: ActivationDefinition {
  @usableFromInline static let defaultInitializer = InitKind.he
  @usableFromInline static let summary = "σ(z) = z·Φ(z) = ½z(1 + erf(z/√2)) (exact GELU)"
  @inlinable static var savesInput: Bool { true }
  @inlinable @inline(__always) static func forward(_ z: Float, _ p: Float) -> Float {
    0.5 * z * (1 + fastErf(z * 0.707_106_781_186_547_5))
  }
  @inlinable @inline(__always) static func backward(_ g: Float, saved z: Float, _ p: Float)
    -> Float
  {
    let cdf = 0.5 * (1 + fastErf(z * 0.707_106_781_186_547_5))
    let pdf = 0.398_942_280_401_432_7 * fastExp(-0.5 * z * z)
    return g * (cdf + z * pdf)
  }
  @usableFromInline static func reference(_ z: Double, _ p: Double) -> Double {
    0.5 * z * erfc(-z / 2.0.squareRoot())
  }
}

/// GELU's tanh approximation, x = ½z(1 + tanh u) with u = √(2/π)(z + 0.044715 z³). Since
/// ½(1 + tanh u) = s = 1/(1 + e^{−2u}), the kernels compute x = z·s, which keeps its relative
/// precision where tanh u is near −1 (1 + tanh u would cancel); σ'(z) = s + z·s(1 − s)·2u' with
/// 1 − s = e^{−2u}·s and u' = √(2/π)(1 + 3·0.044715 z²).
@usableFromInline enum GeluTanh: ActivationDefinition {
  @usableFromInline static let defaultInitializer = InitKind.he
  @usableFromInline static let summary =
    "σ(z) = ½z(1 + tanh(√(2/π)(z + 0.044715 z³))) (GELU, tanh approximation)"
  @inlinable static var savesInput: Bool { true }
  /// e^{−2u}.
  @inlinable @inline(__always) static func decay(_ z: Float) -> Float {
    fastExp(-1.595_769_121_605_730_7 * (z + 0.044_715 * z * z * z))
  }
  @inlinable @inline(__always) static func forward(_ z: Float, _ p: Float) -> Float {
    z / (1 + decay(z))
  }
  @inlinable @inline(__always) static func backward(_ g: Float, saved z: Float, _ p: Float)
    -> Float
  {
    let e = decay(z)
    let s = 1 / (1 + e)
    let twoDu = 1.595_769_121_605_730_7 * (1 + 0.134_145 * z * z)
    return g * (s + z * (s * (e * s)) * twoDu)
  }
  @usableFromInline static func reference(_ z: Double, _ p: Double) -> Double {
    0.5 * z * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (z + 0.044715 * z * z * z)))
  }
}

/// SiLU (swish), x = z·s with s = sigmoid(z) = 1/(1 + e^{−z}) (so z·s keeps its relative
/// precision for negative z); σ'(z) = s(1 + z(1 − s)) with 1 − s = e^{−z}·s.
@usableFromInline enum Silu: ActivationDefinition {
  @usableFromInline static let defaultInitializer = InitKind.he
  @usableFromInline static let summary = "σ(z) = z·sigmoid(z) (SiLU, swish)"
  @inlinable static var savesInput: Bool { true }
  @inlinable @inline(__always) static func forward(_ z: Float, _ p: Float) -> Float {
    z / (1 + fastExp(-z))
  }
  @inlinable @inline(__always) static func backward(_ g: Float, saved z: Float, _ p: Float)
    -> Float
  {
    let e = fastExp(-z)
    let s = 1 / (1 + e)
    return g * (s * (1 + z * (e * s)))
  }
  @usableFromInline static func reference(_ z: Double, _ p: Double) -> Double {
    z / (1 + exp(-z))
  }
}

/// softmax normalises a row; its Jacobian applied to g is x_i (g_i − Σ_j x_j g_j).
@usableFromInline enum Softmax: ActivationDefinition {
  @usableFromInline static let summary = "σ(z)_i = e^{z_i} / Σ_j e^{z_j} (output layer only)"
  @inlinable static var isRowWise: Bool { true }
  @inlinable static func forward(_ z: Float, _ p: Float) -> Float { z }
  @inlinable static func backward(_ g: Float, saved x: Float, _ p: Float) -> Float { g }
  @usableFromInline static func reference(_ z: Double, _ p: Double) -> Double { z }
  @usableFromInline static func reference(row z: [Double], _ p: Double) -> [Double] {
    let top = z.max() ?? 0
    let e = z.map { exp($0 - top) }
    let sum = e.reduce(0, +)
    return e.map { $0 / sum }
  }
}

// MARK: - Kernels

/// y[r, c] = σ(y[r, c] + bias[c]) for every row r, compiled for the instruction set `ISA`
/// names (see GemmTile.swift's InstructionSet). With `preActivation`, z[r, c] = y[r, c] + bias[c]
/// is also stored there (for activations that take σ' from z).
@inlinable @inline(__always)
public func biasActivationForward<ISA: InstructionSet>(
  _: ISA.Type, _ y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
  preActivation: UnsafeMutablePointer<Float>? = nil, rows: Int, cols: Int,
  _ activation: Activation, parameter: Float
) {
  activation.visit(
    Epilogue<ISA>(
      y, bias: bias, saved: nil, preActivation: preActivation, rows: rows, cols: cols,
      p: parameter))
}

/// g[r, c] ← g[r, c] · σ'(z[r, c]), with σ' taken from the saved value: the output x = σ(z), or
/// z itself for activations that save their input (`Activation.savesInput`); softmax applies its
/// Jacobian row by row: g_i ← x_i (g_i − Σ_j x_j g_j).
@inlinable @inline(__always)
public func activationBackward<ISA: InstructionSet>(
  _: ISA.Type, _ g: UnsafeMutablePointer<Float>, saved: UnsafePointer<Float>, rows: Int,
  cols: Int, _ activation: Activation, parameter: Float
) {
  activation.visit(
    Epilogue<ISA>(
      g, bias: nil, saved: saved, preActivation: nil, rows: rows, cols: cols, p: parameter))
}

/// Both epilogues over an (R, C) block `a`: with `bias`, the forward a ← σ(a + bias) (keeping
/// a + bias in `preActivation` when given); with `saved`, the backward a ← a ⊙ σ'. Each activation
/// gets its own specialised loop, and each ISA its own instance (the marker keeps their symbols
/// apart).
@usableFromInline
struct Epilogue<ISA: InstructionSet>: ActivationVisitor {
  @usableFromInline let a: UnsafeMutablePointer<Float>
  @usableFromInline let bias: UnsafePointer<Float>?
  @usableFromInline let saved: UnsafePointer<Float>?
  @usableFromInline let preActivation: UnsafeMutablePointer<Float>?
  @usableFromInline let rows: Int
  @usableFromInline let cols: Int
  @usableFromInline let p: Float

  @inlinable
  init(
    _ a: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, saved: UnsafePointer<Float>?,
    preActivation: UnsafeMutablePointer<Float>?, rows: Int, cols: Int, p: Float
  ) {
    (self.a, self.bias, self.saved, self.preActivation) = (a, bias, saved, preActivation)
    (self.rows, self.cols, self.p) = (rows, cols, p)
  }

  @inlinable @inline(__always)
  func visit<A: ActivationDefinition>(_: A.Type) {
    if let bias { forward(A.self, bias) } else if let saved { backward(A.self, saved) }
  }

  @inlinable @inline(__always)
  func forward<A: ActivationDefinition>(_: A.Type, _ bias: UnsafePointer<Float>) {
    for r in 0..<rows {
      let row = a + r * cols
      if A.isRowWise {
        for c in 0..<cols { row[c] += bias[c] }
        softmaxRow(row, count: cols)
      } else if let preActivation {
        let z = preActivation + r * cols
        for c in 0..<cols { z[c] = row[c] + bias[c] }
        for c in 0..<cols { row[c] = A.forward(z[c], p) }
      } else {
        for c in 0..<cols { row[c] = A.forward(row[c] + bias[c], p) }
      }
    }
  }

  @inlinable @inline(__always)
  func backward<A: ActivationDefinition>(_: A.Type, _ s: UnsafePointer<Float>) {
    if A.isRowWise {
      for r in 0..<rows {
        let (gr, xr) = (a + r * cols, s + r * cols)
        var dot: Float = 0
        for c in 0..<cols { dot += gr[c] * xr[c] }
        for c in 0..<cols { gr[c] = xr[c] * (gr[c] - dot) }
      }
    } else {
      for i in 0..<rows * cols { a[i] = A.backward(a[i], saved: s[i], p) }
    }
  }
}

@inlinable @inline(__always) public func sigmoid(_ z: Float) -> Float {
  z >= 0 ? 1 / (1 + expf(-z)) : expf(z) / (1 + expf(z))
}

/// Numerically stable softmax in place: subtract the row maximum first.
@inlinable @inline(__always) func softmaxRow(_ x: UnsafeMutablePointer<Float>, count: Int) {
  var top = -Float.infinity
  for i in 0..<count { top = max(top, x[i]) }
  for i in 0..<count { x[i] = fastExp(x[i] - top) }
  var sum: Float = 0
  for i in 0..<count { sum += x[i] }
  let scale = 1 / sum
  for i in 0..<count { x[i] *= scale }
}

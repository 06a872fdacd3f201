// Checks the plan's backward pass against central finite differences of the loss, computed by an
// independent double-precision forward pass (not the Float kernels), for every parameter tensor.

import Foundation

/// Worst disagreement between analytic and numeric gradients for one tensor.
public struct GradientCheckResult: Sendable {
  public var tensor: String
  /// max over checked elements of |a − n| / max(|a|, |n|, floor).
  public var worstRelativeError: Double
  public var checkedElements: Int
  public var elements: Int
  /// Elements skipped because ±h moved a relu-like unit across its kink, where the
  /// derivative does not exist.
  public var skippedAtKinks: Int
}

/// Finite-difference gradient checking.
public enum GradientCheck {
  /// Compares ∂L/∂θ from `executor`'s backward pass on the first `rows` training samples with
  /// (L(θ+h) − L(θ−h)) / 2h in Double, for up to `samplesPerTensor` elements of each tensor.
  public static func run(
    _ executor: Executor, data train: Dataset, rows requested: Int = 8,
    samplesPerTensor: Int = 64, step h: Double = 1e-5, floor: Double = 1e-4
  ) -> [GradientCheckResult] {
    let plan = executor.plan
    let rows = min(requested, train.count, plan.batchSize)
    var rng = SeededGenerator(seed: 99)
    // A random batch, and biases moved off zero, so that units do not all sit on relu kinks.
    var order = Array(0..<train.count)
    rng.shuffle(&order)
    let data = train.subset(Array(order.prefix(rows)))
    for id in plan.biases {
      executor.setValues(id, executor.values(id).map { $0 + Float(rng.uniform(-0.1, 0.1)) })
    }
    executor.loadBatch(data, 0..<rows)
    // With dropout, the step's masks are drawn here and held fixed for the finite differences.
    executor.forward(rows: rows, training: true)
    _ = executor.loss(rows: rows)
    executor.backward(rows: rows)
    var reference = ReferenceNetwork(executor: executor)
    reference.masks = (1...plan.network.layers.count).map { k in
      plan.buffers.first { $0.role == .dropoutMask(layer: k) }.map {
        executor.values($0.id).map(Double.init)
      }
    }
    let inputs = data.features.map(Double.init)
    let targets = data.targets.map(Double.init)
    var results: [GradientCheckResult] = []
    typealias Checked = (ReferenceNetwork.Tensor, BufferID, BufferRole)
    var tensors: [Checked] =
      (0..<plan.network.layers.count).flatMap { k -> [Checked] in
        [
          (
            ReferenceNetwork.Tensor.weight(k), plan.weights[k],
            BufferRole.weightGradient(layer: k + 1)
          ),
          (.bias(k), plan.biases[k], .biasGradient(layer: k + 1)),
        ]
      }
    tensors += plan.embeddings.indices.map {
      (.table($0), plan.embeddings[$0], .embeddingGradient(table: $0))
    }
    tensors += plan.periodic.indices.map {
      (.periodic($0), plan.periodic[$0], .periodicGradient(tensor: $0))
    }
    if let s = plan.frontScale { tensors.append((.frontScale, s, .frontScaleGradient)) }
    for k in plan.network.batchEnsembleLayers.sorted() {
      if let r = plan.buffers.first(where: { $0.role == .memberInputScale(layer: k) }) {
        tensors.append((.inputScale(k - 1), r.id, .memberInputScaleGradient(layer: k)))
      }
      let s = plan.buffers.first { $0.role == .memberOutputScale(layer: k) }!
      tensors.append((.outputScale(k - 1), s.id, .memberOutputScaleGradient(layer: k)))
    }
    if let r = plan.adapter { tensors.append((.adapter, r, .ensembleAdapterGradient)) }
    for (tensor, id, gradientRole) in tensors {
      let gradient = executor.values(plan.buffers.first { $0.role == gradientRole }!.id)
      let count = plan[id].count
      var indices = Array(0..<count)
      if count > samplesPerTensor {
        rng.shuffle(&indices)
        indices = Array(indices.prefix(samplesPerTensor))
      }
      var worst = 0.0
      var skipped = 0
      for i in indices {
        let original = reference[tensor, i]
        reference[tensor, i] = original + h
        let plus = reference.evaluate(inputs, targets, rows: rows)
        reference[tensor, i] = original - h
        let minus = reference.evaluate(inputs, targets, rows: rows)
        reference[tensor, i] = original
        if plus.kinks != minus.kinks {
          skipped += 1
          continue
        }
        let numeric = (plus.loss - minus.loss) / (2 * h)
        let analytic = Double(gradient[i])
        worst = max(worst, abs(analytic - numeric) / max(abs(analytic), abs(numeric), floor))
      }
      if skipped == indices.count { worst = .infinity }  // nothing could be checked: fail
      results.append(
        GradientCheckResult(
          tensor: plan[id].name, worstRelativeError: worst,
          checkedElements: indices.count - skipped,
          elements: count, skippedAtKinks: skipped))
    }
    return results
  }
}

/// The network in Double precision, straight from the definitions:
/// x^0 ⊙ s with a front scale, z^k = W^k x^{k-1} + b^k, x^k = σ^k(z^k) (⊙ the dropout mask of
/// its row, if given), L = mean over rows of l(x^N, y) (y smoothed with label smoothing).
/// An ensemble of k members: member m reads x^0 (⊙ s) ⊙ r_m, shares W^k, b^k for k < N and has
/// its own W^N, b^N (slice m); L is the mean of l over rows and members, and the prediction the
/// members' mean x^N.
public struct ReferenceNetwork: Sendable {
  public var weights: [[Double]]
  public var biases: [[Double]]
  /// The embedding tables (rows × dim, row-major), and how a loaded row becomes x^0.
  public var tables: [[Double]]
  public let embeddings: [EmbeddingTable]
  /// The periodic embeddings' tensors (`Network.periodicTensors` order), and the embeddings.
  public var periodicValues: [[Double]]
  public let periodic: [PeriodicEmbedding]
  let periodicIndex: [String: Int]
  let loadedColumns: Int
  let runs: [ColumnRun]
  public let widths: [Int]
  public let activations: [Activation]
  public let parameters: [Double]
  public let lossKind: LossKind
  /// The loss's label smoothing ε: targets (1 − ε)y + ε/K.
  public let labelSmoothing: Double
  /// The learned scale of x^0 (empty: none).
  public var frontScale: [Double]
  /// An ensemble's adapters (members × n^0, row-major; empty: a single network or independent
  /// members).
  public var adapter: [Double]
  /// The ensemble's k (1: a single network).
  public let members: Int
  /// The layers (1-based) whose tensors are each member's own.
  public let memberLayers: Set<Int>
  /// Per layer (0-based), a BatchEnsemble layer's input scales r (members × inputs; empty for
  /// the first, whose r is the adapter) and output scales s (members × outputs); nil otherwise.
  public var inputScales: [[Double]?]
  public var outputScales: [[Double]?]
  /// Per layer, a fixed dropout mask (rows × n^k, row-major; in an ensemble member m's rows
  /// after the first m·rows) to multiply x^k by, or nil.
  public var masks: [[Double]?] = []

  public init(executor: Executor) {
    let plan = executor.plan
    weights = plan.weights.map { executor.values($0).map(Double.init) }
    biases = plan.biases.map { executor.values($0).map(Double.init) }
    tables = plan.embeddings.map { executor.values($0).map(Double.init) }
    embeddings = plan.network.embeddings
    periodicValues = plan.periodic.map { executor.values($0).map(Double.init) }
    periodic = plan.network.periodic
    periodicIndex = Dictionary(
      uniqueKeysWithValues: plan.network.periodicTensors.enumerated().map { ($1.name, $0) })
    loadedColumns = plan.network.loadedColumns
    runs = plan.network.plainRuns
    widths = plan.network.widths
    activations = plan.network.layers.map(\.activation)
    parameters = plan.network.layers.map { Double($0.parameter) }
    lossKind = plan.network.loss
    if case .loss(_, _, _, _, _, _, _, _, _, let smoothing)? = plan.loss?.innermost {
      labelSmoothing = Double(smoothing)
    } else {
      labelSmoothing = 0
    }
    frontScale = plan.frontScale.map { executor.values($0).map(Double.init) } ?? []
    adapter = plan.adapter.map { executor.values($0).map(Double.init) } ?? []
    members = plan.network.members
    memberLayers = plan.network.memberLayers
    let scale = { (role: BufferRole) in
      plan.buffers.first { $0.role == role }.map { executor.values($0.id).map(Double.init) }
    }
    let ensembleLayers = plan.network.batchEnsembleLayers
    inputScales = (1...plan.network.layers.count).map {
      ensembleLayers.contains($0) ? scale(.memberInputScale(layer: $0)) ?? [] : nil
    }
    outputScales = (1...plan.network.layers.count).map {
      ensembleLayers.contains($0) ? scale(.memberOutputScale(layer: $0)) : nil
    }
  }

  /// A parameter tensor: W^k or b^k (0-based k), embedding table e, or the front scale.
  enum Tensor {
    case weight(Int)
    case bias(Int)
    case table(Int)
    case periodic(Int)
    case inputScale(Int)
    case outputScale(Int)
    case frontScale
    case adapter
  }

  subscript(tensor: Tensor, i: Int) -> Double {
    get {
      switch tensor {
      case .weight(let k): weights[k][i]
      case .bias(let k): biases[k][i]
      case .table(let e): tables[e][i]
      case .periodic(let t): periodicValues[t][i]
      case .inputScale(let k): inputScales[k]![i]
      case .outputScale(let k): outputScales[k]![i]
      case .frontScale: frontScale[i]
      case .adapter: adapter[i]
      }
    }
    set {
      switch tensor {
      case .weight(let k): weights[k][i] = newValue
      case .bias(let k): biases[k][i] = newValue
      case .table(let e): tables[e][i] = newValue
      case .periodic(let t): periodicValues[t][i] = newValue
      case .inputScale(let k): inputScales[k]![i] = newValue
      case .outputScale(let k): outputScales[k]![i] = newValue
      case .frontScale: frontScale[i] = newValue
      case .adapter: adapter[i] = newValue
      }
    }
  }

  /// x^0 of one loaded row: its plain columns, and each code's table row (a code outside the
  /// table selects the last row).
  public func embed(_ row: [Double]) -> [Double] {
    var kinks = Hasher()
    return embed(row, kinks: &kinks)
  }

  /// x^0 of one loaded row, hashing the side of 0 of every periodic embedding's ReLU into
  /// `kinks`. A periodic column's value x becomes ReLU(W·[cos 2πf·x, sin 2πf·x] + b).
  func embed(_ row: [Double], kinks: inout Hasher) -> [Double] {
    guard !embeddings.isEmpty || !periodic.isEmpty else { return row }
    var x = [Double](repeating: 0, count: widths[0])
    for run in runs {
      for c in 0..<run.count { x[run.to + c] = row[run.from + c] }
    }
    for (e, table) in zip(embeddings, tables) {
      let code = row[e.column]
      let r = code >= 0 && code < Double(e.rows) ? Int(code) : e.rows - 1
      for c in 0..<e.dim { x[e.offset + c] = table[r * e.dim + c] }
    }
    for p in periodic {
      let f = periodicValues[periodicIndex[p.frequenciesName]!]
      let w = periodicValues[periodicIndex[p.weightName]!]
      let b = periodicValues[periodicIndex[p.biasName]!]
      let k = p.frequencies
      let v =
        (0..<k).map { cos(2 * Double.pi * f[$0] * row[p.column]) }
        + (0..<k).map { sin(2 * Double.pi * f[$0] * row[p.column]) }
      for j in 0..<p.dim {
        var z = b[j]
        for i in 0..<2 * k { z += w[j * 2 * k + i] * v[i] }
        kinks.combine(z > 0)
        x[p.offset + j] = max(0, z)
      }
    }
    return x
  }

  /// Each member's x^N for one sample (one for a single network).
  public func memberOutputs(_ x0: [Double]) -> [[Double]] {
    var kinks = Hasher()
    return (0..<members).map { forward(x0, member: $0, kinks: &kinks, row: nil) }
  }

  /// x^N for one sample (an ensemble's: the members' mean).
  public func forward(_ x0: [Double]) -> [Double] {
    var kinks = Hasher()
    let outputs = (0..<members).map { forward(x0, member: $0, kinks: &kinks, row: nil) }
    return (0..<widths.last!).map { c in outputs.reduce(0) { $0 + $1[c] } / Double(members) }
  }

  /// Member `member`'s x^N, hashing which side of 0 every relu-like pre-activation falls on
  /// into `kinks`; `row` (of `rows`) selects the dropout masks' row.
  func forward(
    _ x0: [Double], member: Int = 0, kinks: inout Hasher, row: Int?, rows: Int = 0
  ) -> [Double] {
    var x = frontScale.isEmpty ? x0 : zip(x0, frontScale).map { $0 * $1 }
    if !adapter.isEmpty {
      for c in x.indices { x[c] *= adapter[member * widths[0] + c] }
    }
    for k in 0..<weights.count {
      let (inputs, outputs) = (widths[k], widths[k + 1])
      // An ensemble's output layer: this member's slice.
      let head = memberLayers.contains(k + 1) ? member : 0
      // A BatchEnsemble layer: x ⊙ r_m, the shared product ⊙ s_m, plus b_m.
      if let r = inputScales[k], !r.isEmpty {
        for i in 0..<inputs { x[i] *= r[member * inputs + i] }
      }
      let s = outputScales[k]
      let bias = s == nil ? head : member
      var z = [Double](repeating: 0, count: outputs)
      for o in 0..<outputs {
        var sum = 0.0
        for i in 0..<inputs { sum += weights[k][(head * outputs + o) * inputs + i] * x[i] }
        sum = sum * (s?[member * outputs + o] ?? 1) + biases[k][bias * outputs + o]
        z[o] = sum
        if activations[k].hasKinkAtZero { kinks.combine(sum > 0) }
      }
      x = activations[k].reference(z, parameter: parameters[k])
      if let row, k < masks.count, let mask = masks[k] {
        let at = (member * rows + row) * outputs
        for o in 0..<outputs { x[o] *= mask[at + o] }
      }
    }
    return x
  }

  /// Mean loss over `rows` samples stored row-major.
  public func loss(_ inputs: [Double], _ targets: [Double], rows: Int) -> Double {
    evaluate(inputs, targets, rows: rows).loss
  }

  /// Mean loss, and a hash of the side of every relu kink, over `rows` samples.
  func evaluate(_ inputs: [Double], _ targets: [Double], rows: Int) -> (loss: Double, kinks: Int) {
    let (n0, nN) = (loadedColumns, widths.last!)
    var total = 0.0
    var kinks = Hasher()
    for r in 0..<rows {
      for m in 0..<members {
        let p = forward(
          embed(Array(inputs[r * n0..<(r + 1) * n0]), kinks: &kinks), member: m, kinks: &kinks,
          row: r, rows: rows)
        let classes = Double(lossKind == .binaryCrossEntropy ? 2 : nN)
        let y = targets[r * nN..<(r + 1) * nN].map {
          (1 - labelSmoothing) * $0 + labelSmoothing / classes
        }
        for (pc, yc) in zip(p, y) {
          switch lossKind {
          case .mse: total += 0.5 * (yc - pc) * (yc - pc)
          case .crossEntropy: total -= yc * log(max(pc, 1e-300))
          case .binaryCrossEntropy:
            total -= yc * log(max(pc, 1e-300)) + (1 - yc) * log(max(1 - pc, 1e-300))
          }
        }
      }
    }
    return (total / Double(rows * members), kinks.finalize())
  }
}

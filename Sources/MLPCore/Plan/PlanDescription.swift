// Text and JSON descriptions of an execution plan for `mlpc plan`: a per-layer table, memory
// and FLOP totals, and the op list over buffer ids.

import Foundation

/// One layer of `mlpc plan`: its tensors, activation, parameters and FLOPs.
public struct PlanLayerRow: Encodable, Sendable {
  public var name: String
  public var weightShape: [Int]
  public var biasShape: [Int]
  public var activation: String
  public var parameters: Int
  public var forwardFlops: Int
  public var backwardFlops: Int

  enum CodingKeys: String, CodingKey {
    case name, activation, parameters
    case weightShape = "weight_shape"
    case biasShape = "bias_shape"
    case forwardFlops = "forward_flops"
    case backwardFlops = "backward_flops"
  }
}

/// The `mlpc plan --format json` record, for an epoch over a number of training rows.
public struct PlanReport: Encodable, Sendable {
  public struct BufferRow: Encodable, Sendable {
    public var id: Int
    public var name: String
    public var shape: [Int]
    public var offset: Int
  }

  public var name: String
  public var widths: [Int]
  public var batchSize: Int
  /// The ensemble's k (1: a single network); every batch buffer from layer 1 on has k·B rows.
  public var members: Int
  public var loss: String
  public var optimizer: String
  public var layers: [PlanLayerRow]
  public var parameters: Int
  public var memoryBytes: [String: Int]
  public var flopsPerStep: Int
  public var stepsPerEpoch: Int
  public var flopsPerEpoch: Int
  public var ops: [String]
  public var buffers: [BufferRow]

  enum CodingKeys: String, CodingKey {
    case name, widths, loss, optimizer, layers, parameters, ops, buffers, members
    case batchSize = "batch_size"
    case memoryBytes = "memory_bytes"
    case flopsPerStep = "flops_per_step"
    case stepsPerEpoch = "steps_per_epoch"
    case flopsPerEpoch = "flops_per_epoch"
  }
}

extension ExecutionPlan {
  /// Per-layer rows: name, W and b shapes, activation, parameters, forward and backward FLOPs.
  public var layerRows: [PlanLayerRow] {
    network.layers.enumerated().map { i, layer in
      let (w, b) = (self[weights[i]], self[biases[i]])
      let f = flops(layer: i + 1)
      // A BatchEnsemble layer's scales are its parameters too.
      let scales = buffers.filter {
        $0.role == .memberInputScale(layer: i + 1) || $0.role == .memberOutputScale(layer: i + 1)
      }.reduce(0) { $0 + $1.count }
      return PlanLayerRow(
        name: layer.name, weightShape: w.shape, biasShape: b.shape,
        activation: layer.activation.rawValue, parameters: w.count + b.count + scales,
        forwardFlops: f.forward, backwardFlops: f.backward)
    }
  }

  /// Bytes by kind: parameters, gradients, optimizer state, batch buffers, whole arena.
  public var memory: [String: Int] {
    var m = ["parameters": 0, "gradients": 0, "optimizer_state": 0, "activations": 0]
    for b in buffers {
      switch b.role {
      case .weight, .bias, .embedding, .periodic, .frontScale, .ensembleAdapter,
        .memberInputScale, .memberOutputScale:
        m["parameters"]! += 4 * b.count
      case .weightGradient, .biasGradient, .embeddingGradient, .periodicGradient,
        .frontScaleGradient, .ensembleAdapterGradient, .memberInputScaleGradient,
        .memberOutputScaleGradient:
        m["gradients"]! += 4 * b.count
      case .optimizerState, .parameterAverage: m["optimizer_state"]! += 4 * b.count
      case .input, .embedded, .target, .sampleWeight, .activation, .preActivation, .delta,
        .dropoutMask, .scaledInput, .scaledInputDelta, .memberInput, .memberInputDelta,
        .memberWeight, .memberWeightProduct, .runTerms, .runTransposed, .runPieces,
        .memberTarget, .memberSampleWeight, .ensembleOutput, .periodicFeatures,
        .periodicFeaturesDelta, .memberScaledInput, .memberProduct:
        m["activations"]! += 4 * b.count
      }
    }
    m["arena"] = 4 * arenaCount
    return m
  }

  /// The optimizer of the update op ("none" in an inference plan).
  var optimizerName: String {
    if case .update(let optimizer, _, _, _, _, _, _, _)? = update {
      optimizer.kind.rawValue
    } else {
      "none"
    }
  }

  /// The `mlpc plan --format json` record, for an epoch over `samples` training rows.
  public func report(samples: Int) -> PlanReport {
    let stepsPerEpoch = steps(samples: samples)
    return PlanReport(
      name: network.name, widths: network.widths, batchSize: batchSize, members: network.members,
      loss: network.loss.rawValue, optimizer: optimizerName, layers: layerRows,
      parameters: parameterCount, memoryBytes: memory, flopsPerStep: flopsPerStep,
      stepsPerEpoch: stepsPerEpoch, flopsPerEpoch: flopsPerStep * stepsPerEpoch, ops: opLines,
      buffers: buffers.map {
        PlanReport.BufferRow(id: $0.id.index, name: $0.name, shape: $0.shape, offset: $0.offset)
      })
  }

  /// The human-readable plan, for an epoch over `samples` training rows; with `features`, the
  /// feature block (column → transform → width) comes before the layer table.
  public func textDescription(samples: Int, features: FeatureEncoder? = nil) -> String {
    let stepsPerEpoch = steps(samples: samples)
    var out =
      "plan '\(safeText(network.name))': \(network.widths.map(String.init).joined(separator: " → ")), batch \(batchSize), "
    if network.members > 1 {
      let kindName =
        switch network.ensembleKind {
        case .mini: "TabM-mini"
        case .independent: "independent"
        case .batchEnsemble: "TabM, BatchEnsemble layers"
        }
      out +=
        "ensemble of \(network.members) (\(kindName): \(network.members * batchSize) rows per step), "
    }
    out += "loss \(network.loss.rawValue), optimizer \(optimizerName)\n\n"
    if let features {
      var table = [["feature", "transform", "width"]]
      for c in features.columns {
        table.append([safeText(c.name, limit: 40), c.transformText, String(c.inputWidth)])
      }
      table.append(["n^0", "", String(features.width)])
      out += render(table, rightAligned: [2]) + "\n"
    }
    if !network.embeddings.isEmpty {
      var table = [["embedding", "table", "params", "memory"]]
      for e in network.embeddings {
        table.append([
          safeText(e.name, limit: 40), "\(e.rows)×\(e.dim)", grouped(e.rows * e.dim),
          bytes(4 * e.rows * e.dim),
        ])
      }
      out += render(table, rightAligned: [2, 3]) + "\n"
    }
    if !network.periodic.isEmpty {
      var table = [["periodic", "frequencies", "linear", "params", "fwd FLOPs", "bwd FLOPs"]]
      var counted: Set<String> = []
      let flops = periodicFlops
      let total = max(1, network.periodic.reduce(0) { $0 + $1.dim * 2 * $1.frequencies })
      for p in network.periodic {
        // A shared (lite) linear layer's parameters are counted with its first column.
        let linear = counted.insert(p.weightName).inserted ? p.dim * (2 * p.frequencies + 1) : 0
        let share = { (f: Int) in f * p.dim * 2 * p.frequencies / total }
        table.append([
          safeText(p.name, limit: 40), String(p.frequencies),
          "\(2 * p.frequencies)→\(p.dim)\(p.lite ? " (lite, shared)" : "")",
          grouped(p.frequencies + linear), grouped(share(flops.forward)),
          grouped(share(flops.backward)),
        ])
      }
      out += render(table, rightAligned: [1, 3, 4, 5]) + "\n"
    }
    var table = [["layer", "W", "b", "activation", "params", "fwd FLOPs", "bwd FLOPs"]]
    for row in layerRows {
      table.append([
        row.name, row.weightShape.map(String.init).joined(separator: "×"),
        row.biasShape.map(String.init).joined(separator: "×"), row.activation,
        grouped(row.parameters),
        grouped(row.forwardFlops), grouped(row.backwardFlops),
      ])
    }
    // Parameters outside the layers' W and b: the ensemble's adapters, the front scale (the
    // embeddings' and periodic features' are in their tables above; the total counts them all).
    for b in buffers where b.role == .ensembleAdapter || b.role == .frontScale {
      table.append([
        b.name, b.shape.map(String.init).joined(separator: "×"), "", "", grouped(b.count), "", "",
      ])
    }
    table.append(["total", "", "", "", grouped(parameterCount), "", ""])
    out += render(table, rightAligned: [4, 5, 6])
    let m = memory
    out += "\n"
    out += render(
      [
        ["parameters", "\(grouped(parameterCount)) (\(bytes(m["parameters"]!)))"],
        ["gradients", bytes(m["gradients"]!)],
        ["optimizer state", bytes(m["optimizer_state"]!)],
        ["activations", "\(bytes(m["activations"]!)) (batch \(batchSize))"],
        ["arena", "\(bytes(m["arena"]!)) in one allocation"],
        ["FLOPs per step", grouped(flopsPerStep)],
        ["FLOPs per epoch", "\(grouped(flopsPerStep * stepsPerEpoch)) (\(stepsPerEpoch) steps)"],
      ], rightAligned: [])
    out += "\nops:\n" + opLines.map { "  \($0)\n" }.joined()
    return out
  }

  /// One line per op, naming buffers as `%id(name)`.
  public var opLines: [String] { ops.map(line) }

  /// The line of one op; an ensemble's wrapped ops say over which rows they run.
  private func line(_ op: Op) -> String {
    let name = { (id: BufferID) in "\(id)(\(self[id].name))" }
    switch op {
    case .members(let k, let inner):
      return line(inner) + " [\(k) members' rows at once]"
    case .eachMember(let k, let inner):
      return line(inner) + " [each of \(k) members]"
    case .ensembleSpread(let x, let r, let y, let k, _):
      let scaled = r.map { " ⊙ \(name($0))[m]" } ?? ""
      return "ensemble_spread \(name(y))[m] = \(name(x))\(scaled), m < \(k)"
    case .ensembleSpreadBackward(let d, let x, let r, let dr, let dx, _, _):
      let scaled = r.map { " ⊙ \(name($0))[m]" } ?? ""
      let below = dx.map { "\(name($0)) = Σ_m \(name(d))[m]\(scaled)" }
      let adapters = dr.map { "\(name($0))[m] = Σ \(name(d))[m] ⊙ \(name(x))" }
      return "ensemble_spread_backward "
        + [adapters, below].compactMap { $0 }.joined(separator: "; ")
    case .ensembleMean(let x, let y, let k, _):
      return "ensemble_mean   \(name(y)) = mean of \(k) members' \(name(x))"
    default:
      break
    }
    return {
      switch op {
      case .embed(let x, let y, _, _, let runs, let lookups):
        let copied = runs.reduce(0) { $0 + $1.count }
        return
          "embed           \(name(y)) = \(copied) columns of \(name(x))"
          + lookups.map { " + \(name($0.table))[code]" }.joined()
      case .periodic(let x, let y, let v, _, _, _, let lookups):
        return "periodic        \(name(v)) = [cos, sin](2π f·\(name(x))); \(name(y)) += "
          + lookups.map { "relu(\(name(v)) · \(name($0.weight))ᵀ + \(name($0.bias)))" }
          .joined(separator: " | ")
      case .periodicBackward(let d, _, _, _, let dv, _, _, _, _, let g):
        return "periodic_backward \(name(dv)) = \(name(d)) · W; "
          + g.map { "\(name($0.frequencies)), \(name($0.weight)), \(name($0.bias))" }
          .joined(separator: "; ") + " += from \(name(d))"
      case .embedBackward(let d, _, _, _, let lookups):
        return "embed_backward  "
          + lookups.map { "\(name($0.table))[code] += \(name(d))" }.joined(separator: "; ")
      case .frontScale(let x, let s, let y, _):
        return "front_scale     \(name(y)) = \(name(x)) ⊙ \(name(s))"
      case .frontScaleBackward(let d, let x, let s, let ds, let dx, _):
        let below = dx.map { "; \(name($0)) = \(name(d)) ⊙ \(name(s))" } ?? ""
        return "front_scale_backward \(name(ds)) = Σ \(name(d)) ⊙ \(name(x))\(below)"
      case .dense(let k, let x, let w, let b, let y, _, _, let act, _, let z):
        let affine = "\(name(x)) · \(name(w))ᵀ + \(name(b))"
        if let z {
          return
            "dense[\(k)]        \(name(z)) = \(affine); \(name(y)) = \(act.rawValue)(\(name(z)))"
        }
        return "dense[\(k)]        \(name(y)) = \(act.rawValue)(\(affine))"
      case .loss(let kind, let x, let y, let d, _, let act, _, let weights, let z, let smoothing):
        let weighted =
          (weights.map { " × \(name($0))" } ?? "")
          + (smoothing > 0 ? ", label smoothing \(smoothing)" : "")
        let from = z.map { " (σ' from \(name($0)))" } ?? ""
        return
          "loss            \(name(d)) = ∂\(kind.rawValue)(\(act.rawValue), \(name(x)), \(name(y)))\(weighted)/∂z\(from)"
      case .denseBackward(
        let k, let d, let x, let w, let dw, let db, let dx, _, _, let act, _, let z):
        var line =
          "dense_backward[\(k)] \(name(dw)) += \(name(d))ᵀ · \(name(x)); \(name(db)) += Σ \(name(d))"
        if let dx {
          let from = z.map { "(\(name($0)))" } ?? ""
          line += "; \(name(dx)) = (\(name(d)) · \(name(w))) ⊙ \(act.rawValue)'\(from)"
        }
        return line
      case .batchEnsemble(
        let k, let x, let r, let u, let w, let p, let s, let b, let y, let z, let n, _, _, let act,
        _):
        let scaled = r.map { "\(name(u)) = \(name(x)) ⊙ \(name($0))[m]; " } ?? ""
        let read = r == nil ? name(x) : name(u)
        let pre = z.map { "\(name($0)) = " } ?? ""
        return "batch_ensemble[\(k)] \(scaled)\(name(p)) = \(read) · \(name(w))ᵀ; "
          + "\(name(y)) = \(act.rawValue)(\(pre)\(name(p)) ⊙ \(name(s))[m] + \(name(b))[m]), m < \(n)"
      case .batchEnsembleBackward(
        let k, let d, let x, _, _, let w, let p, _, let dr, let dw, let ds, let db, let dx, _, _, _,
        let act, _, let z):
        var line =
          "batch_ensemble_backward[\(k)] \(name(ds))[m] = Σ \(name(d)) ⊙ \(name(p)); \(name(db))[m] = Σ \(name(d)); \(name(dw)) = (\(name(d)) ⊙ s)ᵀ · u"
        if let dr { line += "; \(name(dr))[m] = Σ ((\(name(d)) ⊙ s) · \(name(w))) ⊙ \(name(x))" }
        if let dx {
          let from = z.map { "(\(name($0)))" } ?? ""
          line += "; \(name(dx)) = ((\(name(d)) ⊙ s) · \(name(w))) ⊙ r ⊙ \(act.rawValue)'\(from)"
        }
        return line
      case .adaptedDense(
        let k, let x, let r, let w, let b, let u, let runs, let y, let z, let n, _, _, let act, _):
        let pre = z.map { "\(name($0)) = " } ?? ""
        let widths = zip(runs.blocks.starts.dropFirst(), runs.blocks.starts).map { $0 - $1 }
        let blocks =
          runs.blocks.count == 1
          ? "one block of \(widths[0]) columns"
          : "\(runs.blocks.count) blocks of \(widths.min()!)–\(widths.max()!) columns"
        return
          "adapted_dense[\(k)] \(name(y))[m] = \(act.rawValue)(\(pre)(\(name(x)) ⊙ \(name(r))[m]) · \(name(w))ᵀ + \(name(b))), m < \(n): rows of runs from their pieces by \(blocks), the others through \(name(u))"
      case .adaptedDenseBackward(
        let k, let d, let x, _, let wm, let w, _, _, let dw, let db, let dr, let g, let dx, _, _, _):
        var line =
          "adapted_dense_backward[\(k)] \(name(g))[m] = \(name(d))[m]ᵀ · \(name(x)); \(name(dw)) = Σ_m \(name(g))[m] ⊙ r[m]; \(name(dr))[m] = Σ \(name(g))[m] ⊙ \(name(w)); \(name(db)) = Σ \(name(d))"
        if let dx, let wm {
          line +=
            "; \(name(wm))[m] = \(name(w)) ⊙ r[m]; \(name(dx)) = Σ_m \(name(d))[m] · \(name(wm))[m]"
        }
        return line
      case .dropout(let k, let x, let m, _, let p):
        return "dropout[\(k)]      \(name(x)) ⊙= \(name(m)) (p \(p), drawn per step)"
      case .dropoutBackward(let k, let d, let x, let m, _, let act, _, let z):
        return
          "dropout_backward[\(k)] \(name(d)) ⊙= \(name(m)) ⊙ \(act.rawValue)'(\(name(z ?? x)))"
      case .update(let optimizer, _, _, _, let count, _, _, let average):
        let averaged =
          average.map { "; \(name($0.values)) ← moving average (decay \($0.decay))" } ?? ""
        return "update          \(optimizer.kind.rawValue) over \(grouped(count)) floats\(averaged)"
      default:
        preconditionFailure("handled above")
      }
    }()
  }
}

private func grouped(_ n: Int) -> String { formatCount(Double(n)) }
private func bytes(_ n: Int) -> String { formatBytes(Double(n)) }

private func render(_ rows: [[String]], rightAligned: Set<Int>) -> String {
  let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
  return rows.map { row in
    row.enumerated().map { c, cell in
      let pad = String(repeating: " ", count: widths[c] - cell.count)
      return rightAligned.contains(c) ? pad + cell : cell + pad
    }.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
  }.joined()
}

extension String {
  fileprivate func trimmingTrailingSpaces() -> String {
    var s = self
    while s.last == " " { s.removeLast() }
    return s
  }
}

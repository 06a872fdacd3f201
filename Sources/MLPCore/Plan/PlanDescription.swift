// Text and JSON descriptions of an execution plan for `mlpc plan`: a per-layer table, memory
// and FLOP totals, and the op list over buffer ids.

import Foundation

extension ExecutionPlan {
  /// Per-layer rows: name, W and b shapes, activation, parameters, forward and backward FLOPs.
  public var layerRows: [[String: Any]] {
    network.layers.enumerated().map { i, layer in
      let k = i + 1
      let (w, b) = (self[weights[i]], self[biases[i]])
      let f = flops(layer: k)
      return [
        "name": layer.name, "weight_shape": w.shape, "bias_shape": b.shape,
        "activation": layer.activation.rawValue, "parameters": w.count + b.count,
        "forward_flops": f.forward, "backward_flops": f.backward,
      ]
    }
  }

  /// Bytes by kind: parameters, gradients, optimizer state, batch buffers, whole arena.
  public var memory: [String: Int] {
    var m = ["parameters": 0, "gradients": 0, "optimizer_state": 0, "activations": 0]
    for b in buffers {
      switch b.role {
      case .weight, .bias: m["parameters"]! += 4 * b.count
      case .weightGradient, .biasGradient: m["gradients"]! += 4 * b.count
      case .optimizerState: m["optimizer_state"]! += 4 * b.count
      case .input, .target, .sampleWeight, .activation, .delta, .dropoutMask:
        m["activations"]! += 4 * b.count
      }
    }
    m["arena"] = 4 * arenaCount
    return m
  }

  /// The optimizer of the update op ("none" in an inference plan).
  var optimizerName: String {
    if case .update(let kind, _)? = update { kind.rawValue } else { "none" }
  }

  /// The `mlpc plan --format json` object, for an epoch over `samples` training rows.
  public func jsonObject(samples: Int) -> [String: Any] {
    let stepsPerEpoch = steps(samples: samples)
    return [
      "name": network.name, "widths": network.widths, "batch_size": batchSize,
      "loss": network.loss.rawValue, "optimizer": optimizerName, "layers": layerRows,
      "parameters": parameterCount,
      "memory_bytes": memory, "flops_per_step": flopsPerStep, "steps_per_epoch": stepsPerEpoch,
      "flops_per_epoch": flopsPerStep * stepsPerEpoch, "ops": opLines,
      "buffers": buffers.map {
        ["id": $0.id.index, "name": $0.name, "shape": $0.shape, "offset": $0.offset]
      },
    ]
  }

  /// The human-readable plan, for an epoch over `samples` training rows.
  public func textDescription(samples: Int) -> String {
    let stepsPerEpoch = steps(samples: samples)
    var out =
      "plan '\(network.name)': \(network.widths.map(String.init).joined(separator: " → ")), batch \(batchSize), "
    out += "loss \(network.loss.rawValue), optimizer \(optimizerName)\n\n"
    var table = [["layer", "W", "b", "activation", "params", "fwd FLOPs", "bwd FLOPs"]]
    for row in layerRows {
      let w = (row["weight_shape"] as! [Int]).map(String.init).joined(separator: "×")
      table.append([
        row["name"] as! String, w, String((row["bias_shape"] as! [Int])[0]),
        row["activation"] as! String,
        grouped(row["parameters"] as! Int), grouped(row["forward_flops"] as! Int),
        grouped(row["backward_flops"] as! Int),
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
  public var opLines: [String] {
    let name = { (id: BufferID) in "\(id)(\(self[id].name))" }
    return ops.map { op in
      switch op {
      case .dense(let k, let x, let w, let b, let y, let act, _):
        return
          "dense[\(k)]        \(name(y)) = \(act.rawValue)(\(name(x)) · \(name(w))ᵀ + \(name(b)))"
      case .loss(let kind, let x, let y, let d, let act, _, let weights):
        let weighted = weights.map { " × \(name($0))" } ?? ""
        return
          "loss            \(name(d)) = ∂\(kind.rawValue)(\(act.rawValue), \(name(x)), \(name(y)))\(weighted)/∂z"
      case .denseBackward(let k, let d, let x, let w, let dw, let db, let dx, let act, _):
        var line =
          "dense_backward[\(k)] \(name(dw)) += \(name(d))ᵀ · \(name(x)); \(name(db)) += Σ \(name(d))"
        if let dx { line += "; \(name(dx)) = (\(name(d)) · \(name(w))) ⊙ \(act.rawValue)'" }
        return line
      case .dropout(let k, let x, let m, let p):
        return "dropout[\(k)]      \(name(x)) ⊙= \(name(m)) (p \(p), drawn per step)"
      case .dropoutBackward(let k, let d, let x, let m, let act, _):
        return
          "dropout_backward[\(k)] \(name(d)) ⊙= \(name(m)) ⊙ \(act.rawValue)'(\(name(x)))"
      case .update(let kind, _):
        return "update          \(kind.rawValue) over \(grouped(parameters.count)) floats"
      }
    }
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

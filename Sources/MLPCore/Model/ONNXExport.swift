// A trained model as an ONNX graph (opset 17, IR version 8, which ONNX Runtime 1.14 and later
// read): the standardisation as Sub and Div, every layer as Gemm (transB = 1, the weights as
// stored) and its activation's ONNX operator, dropout left out (inference). Classification
// outputs `probabilities`, one column per class (softmax as it is; one sigmoid unit as the pair
// 1 − p, p, like `mlpc predict --probabilities`); regression outputs `targets`. Class, feature
// and target names and the spec travel in `metadata_props`. An ensemble of k members (TabM-mini)
// runs as one (k, B, ·) tensor: the input times the adapters (k, 1, n^0) by broadcasting, each
// layer as MatMul with the transposed weights ((k, I, O) for the members' own layers: the output
// layer, or every layer of independent members, whose first MatMul broadcasts the input; TabM's
// BatchEnsemble layers multiply by their scales (k, 1, ·) around a shared MatMul) and
// Add, the activation over the last axis, then ReduceMean over the members. Written with the
// swift-protobuf messages generated from onnx.proto (Sources/ONNXProto).

import Foundation
import ONNXProto
import SwiftProtobuf

/// Why a model cannot be exported.
public struct ExportError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

public enum ONNXExport {
  public static let opset: Int64 = 17
  public static let irVersion: Int64 = 8

  /// The ONNX model file's bytes for `model`.
  public static func encode(_ model: Model) throws(ExportError) -> Data {
    let d = model.description
    var graph = Onnx_GraphProto()
    graph.name = d.name
    var nodes: [Onnx_NodeProto] = []
    var current = "input"
    if let encoder = d.transforms {
      // Raw columns in, the feature block ahead of the network.
      let block = try featureBlock(encoder, tables: model.tensors, output: "features")
      nodes += block.nodes
      graph.initializer += block.initializers
      graph.input = block.inputs
      current = "features"
    } else {
      graph.input = [tensorInfo("input", columns: d.input)]
    }
    if let s = model.standardizer {
      graph.initializer += [
        tensor("input.mean", [Int64(d.input)], s.mean),
        tensor("input.std", [Int64(d.input)], s.std),
      ]
      nodes.append(node("Sub", [current, "input.mean"], "standardized.centred"))
      nodes.append(node("Div", ["standardized.centred", "input.std"], "standardized"))
      current = "standardized"
    }
    if model.network.frontScale {
      let name = Network.frontScaleName
      guard let s = model.tensors[name], s.values.allSatisfy(\.isFinite) else {
        throw ExportError(description: "the model has no finite tensor '\(name)'")
      }
      graph.initializer.append(tensor(name, [Int64(d.input)], s.values))
      nodes.append(node("Mul", [current, name], "front.scaled"))
      current = "front.scaled"
    }
    let members = model.network.members
    if model.network.hasAdapters {
      let name = Network.adapterName
      guard let r = model.tensors[name], r.values.allSatisfy(\.isFinite) else {
        throw ExportError(description: "the model has no finite tensor '\(name)'")
      }
      graph.initializer.append(tensor(name, [Int64(members), 1, Int64(d.input)], r.values))
      nodes.append(node("Mul", [current, name], "members.input"))
      current = "members.input"
    }
    var widths = [d.input]
    let own = model.network.memberLayers
    for (k, layer) in model.network.layers.enumerated() {
      let (w, b) = (layer.name + ".weight", layer.name + ".bias")
      guard let weight = model.tensors[w], let bias = model.tensors[b] else {
        throw ExportError(description: "the model has no tensors '\(w)' and '\(b)'")
      }
      guard weight.values.allSatisfy(\.isFinite), bias.values.allSatisfy(\.isFinite) else {
        throw ExportError(description: "'\(w)' or '\(b)' holds a NaN or an infinity")
      }
      let (units, inputs) = (Int64(layer.units), Int64(widths[k]))
      let z = layer.name + ".z"
      if members == 1 {
        graph.initializer += [
          tensor(w, [units, inputs], weight.values), tensor(b, [units], bias.values),
        ]
        var gemm = node("Gemm", [current, w, b], z)
        gemm.attribute = [attribute("transB", int: 1)]
        nodes.append(gemm)
      } else {
        // (k, B, I) · Wᵀ: shared (I, O), or each member's own (k, I, O) (the output layer of
        // TabM-mini; every layer of independent members, the first broadcasting (B, I) to k).
        let heads = own.contains(k + 1) ? members : 1
        let transposed = (0..<heads).flatMap { m in
          let at = m * layer.units * widths[k]
          return (0..<widths[k]).flatMap { i in
            (0..<layer.units).map { o in weight.values[at + o * widths[k] + i] }
          }
        }
        let lead: [Int64] = heads > 1 ? [Int64(members)] : []
        // A BatchEnsemble layer (TabM): x ⊙ r_m (after the first), the shared product ⊙ s_m,
        // and each member's bias, all (k, 1, ·) broadcast over the rows.
        let batchEnsemble = model.network.batchEnsembleLayers.contains(k + 1)
        let biasLead: [Int64] = batchEnsemble ? [Int64(members)] : lead
        graph.initializer += [
          tensor(w + ".t", lead + [inputs, units], transposed),
          tensor(b, biasLead + (biasLead.isEmpty ? [] : [1]) + [units], bias.values),
        ]
        var input = current
        var product = layer.name + ".product"
        if batchEnsemble {
          let (r, s) = (Network.inputScaleName(layer.name), Network.outputScaleName(layer.name))
          if k > 0 {
            guard let values = model.tensors[r]?.values, values.allSatisfy(\.isFinite) else {
              throw ExportError(description: "the model has no finite tensor '\(r)'")
            }
            graph.initializer.append(tensor(r, [Int64(members), 1, inputs], values))
            nodes.append(node("Mul", [current, r], layer.name + ".scaled"))
            input = layer.name + ".scaled"
          }
          guard let values = model.tensors[s]?.values, values.allSatisfy(\.isFinite) else {
            throw ExportError(description: "the model has no finite tensor '\(s)'")
          }
          graph.initializer.append(tensor(s, [Int64(members), 1, units], values))
          nodes.append(node("MatMul", [input, w + ".t"], product))
          nodes.append(node("Mul", [product, s], layer.name + ".scaled_product"))
          product = layer.name + ".scaled_product"
        } else {
          nodes.append(node("MatMul", [input, w + ".t"], product))
        }
        nodes.append(node("Add", [product, b], z))
      }
      let x = layer.name + ".x"
      let sigma = activation(layer.activation, layer.parameter, z, x, axis: members > 1 ? -1 : 1)
      nodes += sigma.nodes
      graph.initializer += sigma.constants
      current = x
      widths.append(layer.units)
    }
    if members > 1 {
      // The members' mean: probabilities or values, (B, n^N).
      var mean = node("ReduceMean", [current], "members.mean")
      mean.attribute = [attribute("axes", ints: [0]), attribute("keepdims", int: 0)]
      nodes.append(mean)
      current = "members.mean"
    }
    let outputs = widths.last!
    if let classes = d.classes {
      if outputs == 1 {
        // One sigmoid unit: P(class 1) = p, P(class 0) = 1 − p.
        graph.initializer.append(tensor("one", [1], [1]))
        nodes.append(node("Sub", ["one", current], "complement"))
        var concat = node("Concat", ["complement", current], "probabilities")
        concat.attribute = [attribute("axis", int: 1)]
        nodes.append(concat)
      } else {
        nodes.append(node("Identity", [current], "probabilities"))
      }
      graph.output = [tensorInfo("probabilities", columns: classes.count)]
    } else {
      // Back to the targets' own units.
      switch d.targetScale?.scaling {
      case .standard?:
        let t = d.targetScale!
        graph.initializer += [
          tensor("target.scale", [Int64(outputs)], t.scale.map(Float.init)),
          tensor("target.center", [Int64(outputs)], t.center.map(Float.init)),
        ]
        nodes.append(node("Mul", [current, "target.scale"], "targets.scaled"))
        nodes.append(node("Add", ["targets.scaled", "target.center"], "targets"))
      case .log?:
        graph.initializer.append(tensor("one", [1], [1]))
        nodes.append(node("Exp", [current], "targets.exp"))
        nodes.append(node("Sub", ["targets.exp", "one"], "targets"))
      default:
        nodes.append(node("Identity", [current], "targets"))
      }
      graph.output = [tensorInfo("targets", columns: outputs)]
    }
    for (i, var n) in nodes.enumerated() {
      n.name = "\(n.opType.lowercased())_\(i)"
      graph.node.append(n)
    }
    var onnx = Onnx_ModelProto()
    onnx.irVersion = irVersion
    onnx.producerName = "mlpc"
    onnx.producerVersion = d.mlpcVersion
    onnx.graph = graph
    onnx.docString = "\(d.task) network '\(d.name)' trained by mlpc"
    var imported = Onnx_OperatorSetIdProto()
    imported.domain = ""
    imported.version = Self.opset
    onnx.opsetImport = [imported]
    if d.transforms != nil {
      var ml = Onnx_OperatorSetIdProto()
      ml.domain = "ai.onnx.ml"
      ml.version = 3
      onnx.opsetImport.append(ml)
    }
    let json = { (value: Any) in
      (try? JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes]))
        .map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }
    var properties: [(String, String)] = [
      ("mlpc_task", d.task), ("mlpc_name", d.name), ("feature_names", json(d.features)),
      ("target_names", json(d.targets)), ("standardized", "\(d.standardized)"),
      ("mlpc_spec", d.spec),
    ]
    if let classes = d.classes { properties.append(("class_names", json(classes))) }
    if let t = d.transforms { properties.append(("missing_values", json(t.missingValues))) }
    onnx.metadataProps = properties.map { key, value in
      var entry = Onnx_StringStringEntryProto()
      (entry.key, entry.value) = (key, value)
      return entry
    }
    do { return try onnx.serializedBytes() } catch {
      throw ExportError(description: "cannot serialise the ONNX model: \(error)")
    }
  }

  static func node(_ op: String, _ inputs: [String], _ output: String) -> Onnx_NodeProto {
    var n = Onnx_NodeProto()
    n.opType = op
    n.input = inputs
    n.output = [output]
    return n
  }

  /// An integer, a float or an integer list attribute.
  static func attribute(
    _ name: String, int: Int64? = nil, float: Float? = nil, ints: [Int64]? = nil
  ) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    if let int {
      (a.type, a.i) = (.int, int)
    } else if let float {
      (a.type, a.f) = (.float, float)
    } else if let ints {
      (a.type, a.ints) = (.ints, ints)
    }
    return a
  }

  /// σ from `z` to `x`: its ONNX operator, or for gelu and silu (operators only from opset 20)
  /// the composition of their formulas, with the scalar constants it needs (named after `x`).
  /// Softmax runs over `axis` (the last of an ensemble's (k, B, C)).
  private static func activation(
    _ activation: Activation, _ parameter: Float, _ z: String, _ x: String, axis: Int64 = 1
  ) -> (nodes: [Onnx_NodeProto], constants: [Onnx_TensorProto]) {
    var constants: [Onnx_TensorProto] = []
    let constant = { (name: String, value: Float) in
      constants.append(tensor("\(x).const.\(name)", [], [value]))
      return "\(x).const.\(name)"
    }
    switch activation {
    case .gelu:  // ½z(1 + erf(z/√2))
      let nodes = [
        node("Mul", [z, constant("rsqrt2", 0.707_106_781_186_547_5)], "\(x).scaled"),
        node("Erf", ["\(x).scaled"], "\(x).erf"),
        node("Add", ["\(x).erf", constant("one", 1)], "\(x).cdf2"),
        node("Mul", [z, constant("half", 0.5)], "\(x).half"),
        node("Mul", ["\(x).half", "\(x).cdf2"], x),
      ]
      return (nodes, constants)
    case .geluTanh:  // ½z(1 + tanh(√(2/π)(z + 0.044715 z³)))
      let nodes = [
        node("Mul", [z, z], "\(x).z2"),
        node("Mul", ["\(x).z2", z], "\(x).z3"),
        node("Mul", ["\(x).z3", constant("cubic", 0.044_715)], "\(x).cubic_term"),
        node("Add", [z, "\(x).cubic_term"], "\(x).inner"),
        node("Mul", ["\(x).inner", constant("sqrt_2_over_pi", 0.797_884_560_802_865_4)], "\(x).u"),
        node("Tanh", ["\(x).u"], "\(x).tanh"),
        node("Add", ["\(x).tanh", constant("one", 1)], "\(x).sum"),
        node("Mul", [z, constant("half", 0.5)], "\(x).half"),
        node("Mul", ["\(x).half", "\(x).sum"], x),
      ]
      return (nodes, constants)
    case .silu:  // z·sigmoid(z)
      return ([node("Sigmoid", [z], "\(x).sigmoid"), node("Mul", [z, "\(x).sigmoid"], x)], [])
    case .identity: return ([node("Identity", [z], x)], [])
    case .sigmoid: return ([node("Sigmoid", [z], x)], [])
    case .tanh: return ([node("Tanh", [z], x)], [])
    case .relu: return ([node("Relu", [z], x)], [])
    case .softplus: return ([node("Softplus", [z], x)], [])
    case .leakyRelu:
      var n = node("LeakyRelu", [z], x)
      n.attribute = [attribute("alpha", float: parameter)]
      return ([n], [])
    case .elu:
      var n = node("Elu", [z], x)
      n.attribute = [attribute("alpha", float: parameter)]
      return ([n], [])
    case .softmax:
      var n = node("Softmax", [z], x)
      n.attribute = [attribute("axis", int: axis)]
      return ([n], [])
    }
  }

  static func tensor(_ name: String, _ dims: [Int64], _ values: [Float])
    -> Onnx_TensorProto
  {
    var t = Onnx_TensorProto()
    t.name = name
    t.dims = dims
    t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    t.floatData = values
    return t
  }

  /// A float tensor of shape (batch, columns), the batch dimension symbolic.
  static func tensorInfo(_ name: String, columns: Int) -> Onnx_ValueInfoProto {
    var batch = Onnx_TensorShapeProto.Dimension()
    batch.dimParam = "batch"
    var width = Onnx_TensorShapeProto.Dimension()
    width.dimValue = Int64(columns)
    var shape = Onnx_TensorShapeProto()
    shape.dim = [batch, width]
    var tensorType = Onnx_TypeProto.Tensor()
    tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    tensorType.shape = shape
    var type = Onnx_TypeProto()
    type.tensorType = tensorType
    var info = Onnx_ValueInfoProto()
    info.name = name
    info.type = type
    return info
  }
}

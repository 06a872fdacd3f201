// The feature block of an exported model: one graph input per feature column, named as the
// column (float32 with NaN for a missing number, string for a category, each (batch, 1)), and the
// fitted transforms as ONNX operators ahead of the network: IsNaN/Where for the fill, Cast for
// the indicator, Sub/Div or Add/Log for the scaling, and for categories the `ai.onnx.ml`
// LabelEncoder (level → column; the missing-value strings → the missing level; an unseen level →
// the "other" column, or past the end, which OneHot turns into zeros) followed by OneHot. The
// blocks are concatenated into the network's input. Quantile scaling is not exported yet.

import Foundation
import ONNXProto

extension ONNXExport {
  /// Nodes, initialisers and graph inputs computing the network's input `output` from raw
  /// columns.
  static func featureBlock(_ encoder: FeatureEncoder, output: String) throws(ExportError) -> (
    nodes: [Onnx_NodeProto], initializers: [Onnx_TensorProto], inputs: [Onnx_ValueInfoProto]
  ) {
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []
    var inputs: [Onnx_ValueInfoProto] = []
    var blocks: [String] = []
    initializers.append(int64Tensor("feature.flat", [1], [-1]))
    initializers.append(tensor("feature.onehot_values", [2], [0, 1]))
    for (k, column) in encoder.columns.enumerated() {
      let input = column.name
      let prefix = "feature\(k)"
      if let n = column.numeric {
        inputs.append(tensorInfo(input, columns: 1))
        nodes.append(node("IsNaN", [input], "\(prefix).missing"))
        var value = input
        if let fill = n.fill {
          initializers.append(tensor("\(prefix).fill", [1], [Float(fill)]))
          nodes.append(
            node("Where", ["\(prefix).missing", "\(prefix).fill", input], "\(prefix).filled"))
          value = "\(prefix).filled"
        }
        switch n.scaling {
        case .standard, .robust, .minmax:
          initializers.append(tensor("\(prefix).center", [1], [Float(n.center)]))
          initializers.append(tensor("\(prefix).scale", [1], [Float(n.scale)]))
          nodes.append(node("Sub", [value, "\(prefix).center"], "\(prefix).centred"))
          nodes.append(node("Div", ["\(prefix).centred", "\(prefix).scale"], "\(prefix).value"))
        case .log:
          if !initializers.contains(where: { $0.name == "feature.one" }) {
            initializers.append(tensor("feature.one", [1], [1]))
          }
          nodes.append(node("Add", [value, "feature.one"], "\(prefix).plus_one"))
          nodes.append(node("Log", ["\(prefix).plus_one"], "\(prefix).value"))
        case .none:
          nodes.append(node("Identity", [value], "\(prefix).value"))
        case .quantile:
          throw ExportError(
            description:
              "feature '\(safeText(column.name, limit: 60))' uses quantile scaling, which cannot be exported to ONNX yet; use standard, robust, minmax or log scaling to export"
          )
        }
        blocks.append("\(prefix).value")
        if n.indicator {
          var cast = node("Cast", ["\(prefix).missing"], "\(prefix).indicator")
          cast.attribute = [attribute("to", int: Int64(Onnx_TensorProto.DataType.float.rawValue))]
          nodes.append(cast)
          blocks.append("\(prefix).indicator")
        }
      } else if let c = column.categorical {
        inputs.append(stringInfo(input))
        // Level → its column; infrequent levels → the "other" column.
        var keys: [String] = []
        var values: [Int64] = []
        for (i, level) in c.levels.enumerated() {
          let names = level == CategoricalTransform.missingLevel ? encoder.missingValues : [level]
          keys += names
          values += names.map { _ in Int64(i) }
        }
        let other = Int64(c.levels.count)
        for level in c.infrequent {
          let names = level == CategoricalTransform.missingLevel ? encoder.missingValues : [level]
          keys += names
          values += names.map { _ in other }
        }
        // An unseen level: the "other" column when there is one, else past the end (zeros).
        let unseen = c.infrequent.isEmpty ? Int64(c.width) : other
        var encode = node("LabelEncoder", [input], "\(prefix).index")
        encode.domain = "ai.onnx.ml"
        encode.attribute = [
          stringsAttribute("keys_strings", keys), intsAttribute("values_int64s", values),
          attribute("default_int64", int: unseen),
        ]
        nodes.append(encode)
        nodes.append(node("Reshape", ["\(prefix).index", "feature.flat"], "\(prefix).indices"))
        initializers.append(int64Tensor("\(prefix).depth", [1], [Int64(c.width)]))
        var onehot = node(
          "OneHot", ["\(prefix).indices", "\(prefix).depth", "feature.onehot_values"],
          "\(prefix).value")
        onehot.attribute = [attribute("axis", int: -1)]
        nodes.append(onehot)
        blocks.append("\(prefix).value")
      }
    }
    var concat = node("Concat", blocks, output)
    concat.attribute = [attribute("axis", int: 1)]
    nodes.append(concat)
    return (nodes, initializers, inputs)
  }

  static func int64Tensor(_ name: String, _ dims: [Int64], _ values: [Int64]) -> Onnx_TensorProto {
    var t = Onnx_TensorProto()
    t.name = name
    t.dims = dims
    t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
    t.int64Data = values
    return t
  }

  static func stringsAttribute(_ name: String, _ values: [String]) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .strings
    a.strings = values.map { Data($0.utf8) }
    return a
  }

  static func intsAttribute(_ name: String, _ values: [Int64]) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .ints
    a.ints = values
    return a
  }

  /// A string tensor of shape (batch, 1).
  static func stringInfo(_ name: String) -> Onnx_ValueInfoProto {
    var info = tensorInfo(name, columns: 1)
    info.type.tensorType.elemType = Int32(Onnx_TensorProto.DataType.string.rawValue)
    return info
  }
}

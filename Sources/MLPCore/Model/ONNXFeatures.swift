// The feature block of an exported model: one graph input per feature column, named as the
// column (float32 with NaN for a missing number, string for a category, each (batch, 1)), and the
// fitted transforms as ONNX operators ahead of the network: IsNaN/Where for the fill, Cast for
// the indicator, Sub/Div or Add/Log for the scaling, and for categories the `ai.onnx.ml`
// LabelEncoder (level → column; the missing-value strings → the missing level; an unseen level →
// the "other" column, or past the end, which OneHot turns into zeros) followed by OneHot;
// quantile scaling as knot counting, Gather and interpolation; a piecewise-linear encoding as
// Sub/Div against the bin edges and Max/Min for its clipping; RealMLP's robust scaling and smooth
// clipping as Sub/Div, then Mul/Add/Sqrt/Div; a periodic embedding as Mul, Cos/Sin, Concat,
// MatMul, Add and Relu. The blocks are concatenated into
// the network's input.

import Foundation
import ONNXProto

extension ONNXExport {
  /// Nodes, initialisers and graph inputs computing the network's input `output` from raw
  /// columns; `tables` holds the embedding tables by tensor name.
  static func featureBlock(
    _ encoder: FeatureEncoder, tables: [String: NamedTensor] = [:], output: String
  ) throws(ExportError) -> (
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
        // In double precision, as mlpc computes every transform (cells are float32, statistics
        // double); a float32 centre of ~4000 alone moves a scaled value by ~3e-7. Quantile
        // scaling needs it besides to find a cell equal to a knot equal here too.
        var widen = node("Cast", [input], "\(prefix).wide")
        widen.attribute = [attribute("to", int: Int64(Onnx_TensorProto.DataType.double.rawValue))]
        nodes.append(widen)
        var value = "\(prefix).wide"
        if let fill = n.fill {
          initializers.append(doubleTensor("\(prefix).fill", [1], [fill]))
          nodes.append(
            node("Where", ["\(prefix).missing", "\(prefix).fill", value], "\(prefix).filled"))
          value = "\(prefix).filled"
        }
        switch n.scaling {
        case .standard, .robust, .minmax:
          initializers.append(doubleTensor("\(prefix).center", [1], [n.center]))
          initializers.append(doubleTensor("\(prefix).scale", [1], [n.scale]))
          nodes.append(node("Sub", [value, "\(prefix).center"], "\(prefix).centred"))
          nodes.append(node("Div", ["\(prefix).centred", "\(prefix).scale"], "\(prefix).double"))
        case .robustSmoothClip:
          // v = (x − center)/scale, then v / √(1 + v²/9).
          initializers += [
            doubleTensor("\(prefix).center", [1], [n.center]),
            doubleTensor("\(prefix).scale", [1], [n.scale]),
            doubleTensor("\(prefix).one", [1], [1]),
            doubleTensor("\(prefix).ninth", [1], [1.0 / 9]),
          ]
          nodes += [
            node("Sub", [value, "\(prefix).center"], "\(prefix).centred"),
            node("Div", ["\(prefix).centred", "\(prefix).scale"], "\(prefix).scaled"),
            node("Mul", ["\(prefix).scaled", "\(prefix).scaled"], "\(prefix).square"),
            node("Mul", ["\(prefix).square", "\(prefix).ninth"], "\(prefix).square9"),
            node("Add", ["\(prefix).square9", "\(prefix).one"], "\(prefix).radicand"),
            node("Sqrt", ["\(prefix).radicand"], "\(prefix).root"),
            node("Div", ["\(prefix).scaled", "\(prefix).root"], "\(prefix).double"),
          ]
        case .log:
          initializers.append(doubleTensor("\(prefix).one", [1], [1]))
          nodes.append(node("Add", [value, "\(prefix).one"], "\(prefix).plus_one"))
          nodes.append(node("Log", ["\(prefix).plus_one"], "\(prefix).double"))
        case .none:
          nodes.append(node("Identity", [value], "\(prefix).double"))
        case .quantile:
          let q = n.quantiles ?? [0]
          let built = quantileNodes(value, q, prefix: prefix)
          nodes += built.nodes
          initializers += built.initializers
        case .piecewiseLinear:
          // (x − e_t) / (e_{t+1} − e_t) for every bin t, then each clipped as mlpc clips it.
          let e = n.edges ?? [0, 1]
          let bins = e.count - 1
          let shape = [Int64(bins)]
          let lower = (0..<bins).map { t in bins > 1 && t > 0 ? 0 : -Double.infinity }
          let upper = (0..<bins).map { t in bins > 1 && t < bins - 1 ? 1 : Double.infinity }
          initializers += [
            doubleTensor("\(prefix).left", shape, Array(e.dropLast())),
            doubleTensor("\(prefix).width", shape, (0..<bins).map { e[$0 + 1] - e[$0] }),
            doubleTensor("\(prefix).lower", shape, lower),
            doubleTensor("\(prefix).upper", shape, upper),
          ]
          nodes += [
            node("Sub", [value, "\(prefix).left"], "\(prefix).offset"),
            node("Div", ["\(prefix).offset", "\(prefix).width"], "\(prefix).ramp"),
            node("Max", ["\(prefix).ramp", "\(prefix).lower"], "\(prefix).above"),
            node("Min", ["\(prefix).above", "\(prefix).upper"], "\(prefix).double"),
          ]
        }
        var narrow = node("Cast", ["\(prefix).double"], "\(prefix).value")
        narrow.attribute = [attribute("to", int: Int64(Onnx_TensorProto.DataType.float.rawValue))]
        nodes.append(narrow)
        if let settings = n.periodic {
          let built = try periodicNodes(
            "\(prefix).value", column.name, settings, tables, prefix: prefix)
          nodes += built.nodes
          initializers += built.initializers
          blocks.append("\(prefix).periodic")
        } else {
          blocks.append("\(prefix).value")
        }
        if n.indicator {
          var cast = node("Cast", ["\(prefix).missing"], "\(prefix).indicator")
          cast.attribute = [attribute("to", int: Int64(Onnx_TensorProto.DataType.float.rawValue))]
          nodes.append(cast)
          blocks.append("\(prefix).indicator")
        }
      } else if let c = column.categorical, c.binary {
        // A boolean: 1 for the second level, 0 for the first and for anything unseen.
        inputs.append(stringInfo(input))
        var encode = node("LabelEncoder", [input], "\(prefix).value")
        encode.domain = "ai.onnx.ml"
        var floats = Onnx_AttributeProto()
        (floats.name, floats.type, floats.floats) = ("values_floats", .floats, [0, 1])
        encode.attribute = [
          stringsAttribute("keys_strings", c.levels), floats,
          attribute("default_float", float: 0),
        ]
        nodes.append(encode)
        blocks.append("\(prefix).value")
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
        // An unseen level: the "other" column when there is one, else past the end (zeros); an
        // embedding's last row serves both.
        let unseen = c.infrequent.isEmpty && c.embeddingDim == nil ? Int64(c.width) : other
        var encode = node("LabelEncoder", [input], "\(prefix).index")
        encode.domain = "ai.onnx.ml"
        encode.attribute = [
          stringsAttribute("keys_strings", keys), intsAttribute("values_int64s", values),
          attribute("default_int64", int: unseen),
        ]
        nodes.append(encode)
        nodes.append(node("Reshape", ["\(prefix).index", "feature.flat"], "\(prefix).indices"))
        if let dim = c.embeddingDim {
          // The code's row of the learned table: (batch, dim).
          let name = EmbeddingTable.tensorName(column: column.name)
          guard let table = tables[name], table.shape == [c.tableRows, dim],
            table.values.allSatisfy(\.isFinite)
          else { throw ExportError(description: "the model has no finite tensor '\(name)'") }
          initializers.append(
            tensor("\(prefix).table", [Int64(c.tableRows), Int64(dim)], table.values))
          var gather = node("Gather", ["\(prefix).table", "\(prefix).indices"], "\(prefix).value")
          gather.attribute = [attribute("axis", int: 0)]
          nodes.append(gather)
          blocks.append("\(prefix).value")
          continue
        }
        initializers.append(int64Tensor("\(prefix).depth", [1], [Int64(c.width)]))
        var onehot = node(
          "OneHot", ["\(prefix).indices", "\(prefix).depth", "feature.onehot_values"],
          "\(prefix).value")
        onehot.attribute = [attribute("axis", int: -1)]
        nodes.append(onehot)
        blocks.append("\(prefix).value")
      }
    }
    // The shared constants only where a node reads them (ONNX Runtime warns of the others).
    for shared in ["feature.onehot_values", "feature.flat"]
    where !nodes.contains(where: { $0.input.contains(shared) }) {
      initializers.removeAll { $0.name == shared }
    }
    var concat = node("Concat", blocks, output)
    concat.attribute = [attribute("axis", int: 1)]
    nodes.append(concat)
    return (nodes, initializers, inputs)
  }

  /// A periodic embedding of the scaled value `x` (batch, 1), as mlpc computes it: t = 2π·x,
  /// v = [cos(t·f), sin(t·f)] (batch, 2K), ReLU(v·Wᵀ + b) (batch, D). Output
  /// "<prefix>.periodic".
  static func periodicNodes(
    _ x: String, _ column: String, _ settings: PeriodicSettings, _ tensors: [String: NamedTensor],
    prefix p: String
  ) throws(ExportError) -> (nodes: [Onnx_NodeProto], initializers: [Onnx_TensorProto]) {
    let e = PeriodicEmbedding(
      name: column, frequencies: settings.frequencies, dim: settings.dim, sigma: settings.sigma,
      lite: settings.lite, column: 0, offset: 0)
    let (k, d) = (e.frequencies, e.dim)
    func finite(_ name: String, _ shape: [Int]) throws(ExportError) -> [Float] {
      guard let t = tensors[name], t.shape == shape, t.values.allSatisfy(\.isFinite) else {
        throw ExportError(description: "the model has no finite tensor '\(name)'")
      }
      return t.values
    }
    let f = try finite(e.frequenciesName, [k])
    let w = try finite(e.weightName, [d, 2 * k])
    let b = try finite(e.biasName, [d])
    // Wᵀ (2K, D) for MatMul.
    let wt = (0..<2 * k).flatMap { i in (0..<d).map { j in w[j * 2 * k + i] } }
    let initializers = [
      tensor("\(p).two_pi", [1], [2 * Float.pi]),
      tensor("\(p).frequencies", [1, Int64(k)], f),
      tensor("\(p).weight_t", [Int64(2 * k), Int64(d)], wt),
      tensor("\(p).bias", [Int64(d)], b),
    ]
    var concat = node("Concat", ["\(p).cos", "\(p).sin"], "\(p).features")
    concat.attribute = [attribute("axis", int: 1)]
    let nodes = [
      node("Mul", [x, "\(p).two_pi"], "\(p).turns"),
      node("Mul", ["\(p).turns", "\(p).frequencies"], "\(p).angles"),
      node("Cos", ["\(p).angles"], "\(p).cos"),
      node("Sin", ["\(p).angles"], "\(p).sin"),
      concat,
      node("MatMul", ["\(p).features", "\(p).weight_t"], "\(p).product"),
      node("Add", ["\(p).product", "\(p).bias"], "\(p).linear"),
      node("Relu", ["\(p).linear"], "\(p).periodic"),
    ]
    return (nodes, initializers)
  }

  /// QuantileTransformer's uniform map of `x` through the quantiles `q`, as mlpc computes it: the
  /// mean of interpolating at the last knot ≤ x (upwards) and at the first knot ≥ x (downwards),
  /// 0 at or below the first knot and 1 at or above the last. Knot indices come from counting
  /// knots below x (Less/LessOrEqual, ReduceSum), values from Gather; all in double precision.
  /// Output "<prefix>.double".
  static func quantileNodes(_ x: String, _ q: [Double], prefix p: String) -> (
    nodes: [Onnx_NodeProto], initializers: [Onnx_TensorProto]
  ) {
    let k = q.count
    var nodes: [Onnx_NodeProto] = []
    let references = NumericTransform.references(k)
    let inits = [
      doubleTensor("\(p).knots", [1, Int64(k)], q),
      doubleTensor("\(p).knots_flat", [Int64(k)], q),
      doubleTensor("\(p).refs", [Int64(k)], references),
      doubleTensor("\(p).first", [1], [q[0]]),
      doubleTensor("\(p).last", [1], [q[k - 1]]),
      doubleTensor("\(p).zero", [1], [0]), doubleTensor("\(p).unit", [1], [1]),
      doubleTensor("\(p).half", [1], [0.5]),
      int64Tensor("\(p).axis", [1], [1]),
      int64Tensor("\(p).low_index", [1], [0]),
      int64Tensor("\(p).high_index", [1], [Int64(max(0, k - 2))]),
      int64Tensor("\(p).one_index", [1], [1]), int64Tensor("\(p).top_index", [1], [Int64(k - 1)]),
    ]
    func add(_ op: String, _ inputs: [String], _ out: String) {
      nodes.append(node(op, inputs, "\(p).\(out)"))
    }
    func cast(_ input: String, _ out: String, to type: Onnx_TensorProto.DataType) {
      var c = node("Cast", ["\(p).\(input)"], "\(p).\(out)")
      c.attribute = [attribute("to", int: Int64(type.rawValue))]
      nodes.append(c)
    }
    // Knots ≤ x and knots < x, per row.
    nodes.append(node("LessOrEqual", ["\(p).knots", x], "\(p).le"))
    nodes.append(node("Less", ["\(p).knots", x], "\(p).lt"))
    cast("le", "le_f", to: .float)
    cast("lt", "lt_f", to: .float)
    add("ReduceSum", ["\(p).le_f", "\(p).axis"], "le_count")
    add("ReduceSum", ["\(p).lt_f", "\(p).axis"], "lt_count")
    cast("le_count", "le_i", to: .int64)
    cast("lt_count", "lt_i", to: .int64)
    // Upwards: j = (knots ≤ x) − 1, kept in [0, k − 2]; t = (x − q[j]) / (q[j+1] − q[j]).
    add("Sub", ["\(p).le_i", "\(p).one_index"], "j_raw")
    add("Max", ["\(p).j_raw", "\(p).low_index"], "j_low")
    add("Min", ["\(p).j_low", "\(p).high_index"], "j")
    add("Add", ["\(p).j", "\(p).one_index"], "j1")
    // Downwards: i = knots < x, kept in [1, k − 1]; interpolate between i − 1 and i.
    add("Max", ["\(p).lt_i", "\(p).one_index"], "i_low")
    add("Min", ["\(p).i_low", "\(p).top_index"], "i")
    add("Sub", ["\(p).i", "\(p).one_index"], "i0")
    func lerp(_ a: String, _ b: String, _ out: String) {
      add("Gather", ["\(p).knots_flat", "\(p).\(a)"], "\(out).qa")
      add("Gather", ["\(p).knots_flat", "\(p).\(b)"], "\(out).qb")
      add("Gather", ["\(p).refs", "\(p).\(a)"], "\(out).ra")
      add("Gather", ["\(p).refs", "\(p).\(b)"], "\(out).rb")
      add("Sub", ["\(p).\(out).qb", "\(p).\(out).qa"], "\(out).span")
      // A zero span only where the ends decide anyway: divide by 1 there.
      add("Equal", ["\(p).\(out).span", "\(p).zero"], "\(out).flat")
      add("Where", ["\(p).\(out).flat", "\(p).unit", "\(p).\(out).span"], "\(out).den")
      add("Sub", [x, "\(p).\(out).qa"], "\(out).dx")
      add("Div", ["\(p).\(out).dx", "\(p).\(out).den"], "\(out).t_raw")
      add("Clip", ["\(p).\(out).t_raw", "\(p).zero", "\(p).unit"], "\(out).t")
      add("Sub", ["\(p).\(out).rb", "\(p).\(out).ra"], "\(out).dr")
      add("Mul", ["\(p).\(out).t", "\(p).\(out).dr"], "\(out).step")
      add("Add", ["\(p).\(out).ra", "\(p).\(out).step"], out)
    }
    lerp("j", "j1", "up")
    lerp("i0", "i", "down")
    add("Add", ["\(p).up", "\(p).down"], "sum")
    add("Mul", ["\(p).sum", "\(p).half"], "mean")
    // The ends exactly: 0 at or below the first knot, 1 at or above the last.
    add("LessOrEqual", [x, "\(p).first"], "at_low")
    add("GreaterOrEqual", [x, "\(p).last"], "at_high")
    add("Where", ["\(p).at_high", "\(p).unit", "\(p).mean"], "upper")
    add("Where", ["\(p).at_low", "\(p).zero", "\(p).upper"], "double")
    return (nodes, inits)
  }

  static func doubleTensor(_ name: String, _ dims: [Int64], _ values: [Double]) -> Onnx_TensorProto
  {
    var t = Onnx_TensorProto()
    t.name = name
    t.dims = dims
    t.dataType = Int32(Onnx_TensorProto.DataType.double.rawValue)
    t.doubleData = values
    return t
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

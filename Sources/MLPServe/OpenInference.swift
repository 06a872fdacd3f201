// The Open Inference Protocol (KServe v2) for a served model: its metadata (inputs and outputs
// with datatype and shape) and tensors in, tensors out. A model of numeric features takes one
// FP32 tensor `input` of shape [rows, features]; any model also takes one tensor per feature
// column, named by the column, of shape [rows] or [rows, 1] (BYTES for category names). Outputs:
// `predicted` (BYTES, class names) and `probabilities` (FP32 [rows, classes]) for a classifier,
// `predictions` (FP32 [rows, targets]) for regression.

import Foundation
import MLPCore

extension ServedModel {
  /// The v2 datatypes a numeric tensor may declare.
  static let numericTypes: Set<String> = [
    "FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32",
    "UINT64", "BOOL",
  ]

  /// Whether the model takes its features as one FP32 tensor (no category columns).
  var takesOneTensor: Bool { !categorical.contains(true) }

  /// The output tensors' names.
  var outputNames: [String] {
    reading.classes == nil ? ["predictions"] : ["predicted", "probabilities"]
  }

  /// `GET /v2/models/{name}`.
  public var metadataJSON: String {
    var w = JSONWriter()
    func tensor(_ name: String, _ type: String, _ shape: [Int]) {
      w.raw("{")
      w.key("name")
      w.string(name)
      w.raw(",")
      w.key("datatype")
      w.string(type)
      w.raw(",\"shape\":[" + shape.map(String.init).joined(separator: ",") + "]}")
    }
    w.raw("{")
    w.key("name")
    w.string(name)
    w.raw(",\"versions\":[\"1\"],\"platform\":\"mlpc\",\"inputs\":[")
    if takesOneTensor {
      tensor("input", "FP32", [-1, features.count])
    } else {
      for (k, f) in features.enumerated() {
        if k > 0 { w.raw(",") }
        tensor(f, categorical[k] ? "BYTES" : "FP32", [-1])
      }
    }
    w.raw("],\"outputs\":[")
    if let classes = reading.classes {
      tensor("predicted", "BYTES", [-1])
      w.raw(",")
      tensor("probabilities", "FP32", [-1, classes.count])
    } else {
      tensor("predictions", "FP32", [-1, reading.outputs])
    }
    w.raw("]}")
    return w.text
  }

  /// The values of a tensor's `data`, flattened (row-major), with its declared shape checked.
  private func tensorData(_ tensor: JSONValue, at: String, maxValues: Int) throws(ServeError)
    -> (shape: [Int], data: [JSONValue])
  {
    guard case .array(let dims)? = tensor["shape"] else {
      throw .bad("a tensor needs 'shape', an array of sizes", field: "\(at).shape")
    }
    var shape: [Int] = []
    for (j, d) in dims.enumerated() {
      guard case .number(let text) = d, let n = Int(text), n >= 0 else {
        throw .bad("a size must be a whole number ≥ 0", field: "\(at).shape[\(j)]")
      }
      shape.append(n)
    }
    guard case .string(let type)? = tensor["datatype"] else {
      throw .bad("a tensor needs 'datatype' (FP32, BYTES, ...)", field: "\(at).datatype")
    }
    guard type == "BYTES" || Self.numericTypes.contains(type) else {
      throw .bad("unknown datatype '\(safeText(type, limit: 40))'", field: "\(at).datatype")
    }
    guard let data = tensor["data"] else {
      throw .bad("a tensor needs 'data'", field: "\(at).data")
    }
    var flat: [JSONValue] = []
    func flatten(_ v: JSONValue) throws(ServeError) {
      if case .array(let items) = v {
        for item in items { try flatten(item) }
      } else {
        if flat.count >= maxValues {
          throw ServeError(
            413, "the tensor holds more values than the server takes", field: "\(at).data")
        }
        flat.append(v)
      }
    }
    try flatten(data)
    let (count, overflow) = shape.reduce((1, false)) { acc, n in
      let (p, o) = acc.0.multipliedReportingOverflow(by: n)
      return (p, acc.1 || o)
    }
    guard !overflow, count == flat.count else {
      throw .bad(
        "shape [\(shape.map(String.init).joined(separator: ", "))] does not match the \(flat.count) values of 'data'",
        field: "\(at).shape")
    }
    return (shape, flat)
  }

  /// Rows from a v2 request's `inputs`.
  public func rows(inputs: JSONValue, maxRows: Int) throws(ServeError) -> Rows {
    guard case .array(let tensors) = inputs, !tensors.isEmpty else {
      throw .bad("'inputs' must be a non-empty array of tensors", field: "inputs")
    }
    let maxValues = maxRows * max(1, features.count)
    var names: [String] = []
    for (t, tensor) in tensors.enumerated() {
      guard case .object = tensor, case .string(let name)? = tensor["name"] else {
        throw .bad("a tensor needs 'name'", field: "inputs[\(t)].name")
      }
      names.append(name)
    }
    // One tensor holding every feature, [rows, features].
    if names == ["input"], featureIndex["input"] == nil {
      guard takesOneTensor else {
        throw .bad(
          "model '\(name)' has category columns: send one tensor per feature column, named by the column (GET /v2/models/\(name) lists them)",
          field: "inputs[0].name")
      }
      let (shape, data) = try tensorData(tensors[0], at: "inputs[0]", maxValues: maxValues)
      guard shape.count == 2, shape[1] == features.count else {
        throw .bad(
          "tensor 'input' must have shape [rows, \(features.count)] (one column per feature: \(features.prefix(6).joined(separator: ", "))\(features.count > 6 ? ", …" : ""))",
          field: "inputs[0].shape")
      }
      try check(count: shape[0], maxRows: maxRows, field: "inputs[0].shape")
      var rows = Rows()
      rows.x.reserveCapacity(shape[0] * inputWidth)
      let n = features.count
      for r in 0..<shape[0] {
        try append(Array(data[r * n..<(r + 1) * n]), to: &rows, field: "inputs[0].data") {
          "inputs[0].data[\(r * n + $0)]"
        }
      }
      return rows
    }
    // One tensor per feature column, [rows] or [rows, 1].
    var columns = [[JSONValue]?](repeating: nil, count: features.count)
    var tensorOf = [Int](repeating: 0, count: features.count)
    var count: Int?
    for (t, tensor) in tensors.enumerated() {
      let k = try column(names[t], field: "inputs[\(t)].name")
      guard columns[k] == nil else {
        throw .bad("feature '\(names[t])' is given twice", field: "inputs[\(t)].name")
      }
      let (shape, data) = try tensorData(tensor, at: "inputs[\(t)]", maxValues: maxRows)
      guard shape.count == 1 || shape.count == 2 && shape[1] == 1 else {
        throw .bad(
          "a feature's tensor must have shape [rows] or [rows, 1]", field: "inputs[\(t)].shape")
      }
      if let count, count != shape[0] {
        throw .bad(
          "tensor '\(names[t])' has \(shape[0]) rows, the first tensor \(count)",
          field: "inputs[\(t)].shape")
      }
      count = shape[0]
      columns[k] = data
      tensorOf[k] = t
    }
    if let k = columns.firstIndex(where: { $0 == nil }) {
      throw .bad("missing feature '\(features[k])': no tensor of that name", field: "inputs")
    }
    try check(count: count!, maxRows: maxRows, field: "inputs[0].shape")
    var rows = Rows()
    for r in 0..<count! {
      try append(columns.map { $0![r] }, to: &rows, field: "inputs") {
        "inputs[\(tensorOf[$0])].data[\(r)]"
      }
    }
    return rows
  }

  /// The names of the outputs a v2 request asks for (`outputs: [{"name": ...}]`), all if none.
  public func requestedOutputs(_ request: JSONValue) throws(ServeError) -> [String] {
    guard let outputs = request["outputs"] else { return outputNames }
    guard case .array(let items) = outputs else {
      throw .bad("'outputs' must be an array of {\"name\": ...}", field: "outputs")
    }
    var names: [String] = []
    for (j, item) in items.enumerated() {
      guard case .string(let name)? = item["name"] else {
        throw .bad("an output needs 'name'", field: "outputs[\(j)].name")
      }
      guard outputNames.contains(name) else {
        throw .bad(
          "no output '\(safeText(name, limit: 40))'; this model's outputs: \(outputNames.joined(separator: ", "))",
          field: "outputs[\(j)].name")
      }
      names.append(name)
    }
    return names.isEmpty ? outputNames : names
  }

  /// The v2 response for rows of x^N.
  public func inferJSON(_ y: [Float], rows: Int, outputs: [String], id: String?) throws(ServeError)
    -> String
  {
    let n = reading.outputs
    guard y.allSatisfy(\.isFinite) else {
      throw ServeError(422, "the model's output is not finite for these values")
    }
    var w = JSONWriter()
    w.raw("{")
    w.key("model_name")
    w.string(name)
    w.raw(",\"model_version\":\"1\"")
    if let id {
      w.raw(",")
      w.key("id")
      w.string(id)
    }
    w.raw(",\"outputs\":[")
    for (o, output) in outputs.enumerated() {
      if o > 0 { w.raw(",") }
      w.raw("{")
      w.key("name")
      w.string(output)
      try y.withUnsafeBufferPointer { (p) throws(ServeError) in
        let row = { (r: Int) in UnsafeBufferPointer(rebasing: p[r * n..<(r + 1) * n]) }
        switch output {
        case "predicted":
          w.raw(",\"datatype\":\"BYTES\",\"shape\":[\(rows)],\"data\":[")
          for r in 0..<rows {
            if r > 0 { w.raw(",") }
            w.string(reading.classes![reading.predictedClass(row(r))])
          }
        case "probabilities":
          let c = reading.classes!.count
          w.raw(",\"datatype\":\"FP32\",\"shape\":[\(rows),\(c)],\"data\":[")
          for r in 0..<rows {
            for (j, v) in reading.classProbabilities(row(r)).enumerated() {
              if r > 0 || j > 0 { w.raw(",") }
              w.number(v)
            }
          }
        default:
          w.raw(",\"datatype\":\"FP32\",\"shape\":[\(rows),\(n)],\"data\":[")
          for r in 0..<rows {
            let values = reading.targetValues(row(r))
            guard values.allSatisfy(\.isFinite) else {
              throw ServeError(422, "the model's output is not finite for these values")
            }
            for (j, v) in values.enumerated() {
              if r > 0 || j > 0 { w.raw(",") }
              w.number(v)
            }
          }
        }
      }
      w.raw("]}")
    }
    w.raw("]}")
    return w.text
  }
}

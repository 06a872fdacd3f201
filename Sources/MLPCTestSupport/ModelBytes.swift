// A model file built byte by byte, so that tests can set every field to what an attacker would
// write: valid as built (a 2-input softmax classifier of one layer `o`).

import Foundation

/// A model file's parts, valid as built: a 2-input softmax classifier of one layer `o`.
public struct ModelBytes {
  public var description: [String: Any] = [
    "format": 3, "mlpc_version": "0.2.0", "name": "m", "task": "classification",
    "loss": "cross_entropy", "input": 2, "features": ["x", "y"],
    "layers": [["name": "o", "units": 2, "activation": "softmax", "parameters": [:]]],
    "targets": ["label"], "classes": ["a", "b"], "standardized": false, "training": [:],
    "spec": "",
  ]
  /// name → (shape, data_offsets); the data section holds `values`.
  public var tensors: [String: (shape: [Any], offsets: [Any])] = [
    "o.bias": ([2], [0, 8]), "o.weight": ([2, 2], [8, 24]),
  ]
  public var values: [Float] = [0.5, -0.5, 1, 2, 3, 4]
  public var format: String = "mlpc-3"
  public var dtype = "F32"
  /// The header length field; nil: the header's real length.
  public var declaredLength: UInt64? = nil

  public init() {}

  public var data: Data {
    var header: [String: Any] = [:]
    let json = try! JSONSerialization.data(withJSONObject: description, options: [.sortedKeys])
    header["__metadata__"] = ["format": format, "mlpc": String(decoding: json, as: UTF8.self)]
    for (name, t) in tensors {
      header[name] = ["dtype": dtype, "shape": t.shape, "data_offsets": t.offsets]
    }
    let bytes = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    var out = Data()
    withUnsafeBytes(of: (declaredLength ?? UInt64(bytes.count)).littleEndian) {
      out.append(contentsOf: $0)
    }
    out.append(bytes)
    for v in values {
      withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) }
    }
    return out
  }
}

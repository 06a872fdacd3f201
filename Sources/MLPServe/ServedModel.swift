// A model being served: its rows read from JSON by column name or position through the model's
// own feature transforms (the same rules as `mlpc predict` applies to a CSV cell), its batcher,
// and its answers written back as JSON. Every refusal names the field it is about.

import Foundation
import MLPCore

/// A request the server refuses: the HTTP status, what is wrong, and the field (a JSON path such
/// as `instances[2].sepal_length`) when one is to blame.
public struct ServeError: Error, Sendable, Equatable {
  public var status: Int
  public var message: String
  public var field: String?
  /// The methods a path takes, for a 405.
  public var allow: [String] = []

  public init(_ status: Int, _ message: String, field: String? = nil) {
    (self.status, self.message, self.field) = (status, message, field)
  }

  static func bad(_ message: String, field: String? = nil) -> ServeError {
    ServeError(400, message, field: field)
  }

  /// The error body: `{"error": "...", "field": "..."}`.
  public var json: String {
    var w = JSONWriter()
    w.raw("{")
    w.key("error")
    w.string(message)
    if let field {
      w.raw(",")
      w.key("field")
      w.string(field)
    }
    w.raw("}")
    return w.text
  }
}

/// How a request asks for outputs.
public struct ReplyOptions: Sendable {
  public var probabilities = false
  public init(probabilities: Bool = false) { self.probabilities = probabilities }
}

/// A loaded model with its batcher.
public final class ServedModel: Sendable {
  public let name: String
  public let path: String
  public let model: Model
  public let reading: OutputReading
  /// The raw feature columns, in the model's order.
  public let features: [String]
  /// Per feature column, whether it holds category names (strings).
  public let categorical: [Bool]
  /// Whether a missing value (null) is accepted: the model holds feature transforms.
  public let acceptsMissing: Bool
  let batcher: Batcher
  private let missingValues: Set<String>
  /// Each feature's column.
  let featureIndex: [String: Int]
  /// The training table's columns the model does not read (its targets, and with feature
  /// transforms the columns ignored): a record that holds them, as a row of that table does, is
  /// read without them.
  let unread: Set<String>

  public init(
    name: String, path: String, model: Model, maxBatch: Int, maxDelayMicroseconds: Int,
    observe: @escaping @Sendable (Int) -> Void = { _ in }
  ) {
    self.name = name
    self.path = path
    self.model = model
    reading = OutputReading(model)
    features = model.description.features
    let encoder = model.description.transforms
    categorical = features.indices.map { encoder?.columns[$0].categorical != nil }
    acceptsMissing = encoder != nil
    missingValues = Set(encoder?.missingValues ?? [])
    featureIndex = Dictionary(features.enumerated().map { ($1, $0) }) { a, _ in a }
    unread = Set(encoder?.ignored ?? []).union(model.description.targets).subtracting(features)
    batcher = Batcher(
      model, maxBatch: maxBatch, maxDelayMicroseconds: maxDelayMicroseconds, observe: observe)
  }

  /// Requests waiting for a forward pass.
  public var waitingRequests: Int { batcher.waiting }

  /// Ends the model's batching thread once its queue is empty.
  public func stop() { batcher.stop() }

  /// Encoded floats per row (the plan's input width).
  public var inputWidth: Int { model.network.loadedColumns }

  /// x^N for encoded rows.
  public func predict(_ x: [Float], rows: Int) async -> [Float] {
    await batcher.run(x, rows: rows)
  }

  /// x^N for encoded rows computed on this thread, if no request waits for the model, no
  /// batching delay was asked for, the rows fit one forward pass and a plan is free; nil
  /// otherwise (then `predict`).
  public func predictNow(_ x: [Float], rows: Int) -> [Float]? {
    batcher.now(x, rows: rows)
  }

  // MARK: Reading rows

  /// Rows being read from a request, encoded as the model's input.
  public struct Rows {
    public var x: [Float] = []
    public var count = 0
  }

  /// The feature named `name`, or a 400 that suggests the nearest name.
  func column(_ name: String, field: @autoclosure () -> String) throws(ServeError) -> Int {
    if let k = featureIndex[name] { return k }
    let hint = nearestName(name, in: features).map { "; did you mean '\($0)'?" } ?? ""
    throw .bad(
      "unknown feature '\(safeText(name, limit: 80))' (model '\(self.name)' reads \(features.count) features)\(hint)",
      field: field())
  }

  /// The feature a record's `name` holds; nil for a column of the training table the model
  /// does not read; else a 400 that suggests the nearest name.
  func recordColumn(_ name: String, field: @autoclosure () -> String) throws(ServeError) -> Int? {
    if let k = featureIndex[name] { return k }
    if unread.contains(name) { return nil }
    return try column(name, field: field())
  }

  /// Appends one row given as values per feature column (nil: the column was not given).
  func append(
    _ values: [JSONValue?], to rows: inout Rows, field: @autoclosure () -> String,
    name: (Int) -> String
  ) throws(ServeError) {
    if let k = values.firstIndex(where: { $0 == nil }) {
      throw .bad("missing feature '\(features[k])'", field: field())
    }
    let start = rows.x.count
    rows.x += repeatElement(0, count: inputWidth)
    if let encoder = model.description.transforms {
      var cells: [RawCell] = []
      cells.reserveCapacity(values.count)
      for (k, v) in values.enumerated() {
        cells.append(try cell(v!, column: k, field: name(k)))
      }
      let result = rows.x.withUnsafeMutableBufferPointer {
        encoder.encode(cells, into: UnsafeMutableBufferPointer(rebasing: $0[start...]))
      }
      if case .failure(let p) = result {
        throw .bad(
          "feature '\(features[p.column ?? 0])': \(p.description)", field: name(p.column ?? 0))
      }
    } else {
      for (k, v) in values.enumerated() {
        rows.x[start + k] = try number(v!, column: k, field: name(k))
      }
    }
    rows.count += 1
  }

  /// A number cell as `mlpc predict` reads one: decimal text rounded to single precision; a
  /// 400 beyond its range.
  private func float(_ text: String, column k: Int, field: @autoclosure () -> String)
    throws(ServeError) -> Float
  {
    guard let d = Double(text), Float(d).isFinite else {
      throw .bad(
        "feature '\(features[k])': \(text.prefix(40)) is outside single precision's range (±3.4e38)",
        field: field())
    }
    return Float(d)
  }

  private func number(_ v: JSONValue, column k: Int, field: @autoclosure () -> String)
    throws(ServeError) -> Float
  {
    guard case .number(let text) = v else {
      throw .bad(
        "feature '\(features[k])' must be a number, found \(v.kind)"
          + (v == .null ? " (this model has no transforms for missing values)" : ""),
        field: field())
    }
    return try float(text, column: k, field: field())
  }

  private func cell(_ v: JSONValue, column k: Int, field: @autoclosure () -> String)
    throws(ServeError) -> RawCell
  {
    switch v {
    case .null: return categorical[k] ? .text(nil) : .number(nil)
    case .string(let s):
      let text = s.trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
      if missingValues.contains(text) { return categorical[k] ? .text(nil) : .number(nil) }
      if categorical[k] { return .text(text) }
      throw .bad(
        "feature '\(features[k])' must be a number or null, found a string ('\(safeText(s, limit: 40))')",
        field: field())
    case .number(let text):
      if categorical[k] { return .text(text) }
      return .number(Double(try float(text, column: k, field: field())))
    default:
      throw .bad(
        "feature '\(features[k])' must be \(categorical[k] ? "a string" : "a number") or null, found \(v.kind)",
        field: field())
    }
  }

  /// Reads `instances`: records by column name, or arrays in the model's column order.
  public func rows(instances: JSONValue, field: String, maxRows: Int) throws(ServeError) -> Rows {
    guard case .array(let items) = instances else {
      throw .bad("'\(field)' must be an array of rows, found \(instances.kind)", field: field)
    }
    try check(count: items.count, maxRows: maxRows, field: field)
    var rows = Rows()
    rows.x.reserveCapacity(items.count * inputWidth)
    for (i, item) in items.enumerated() {
      let at = { "\(field)[\(i)]" }  // built only for an error
      switch item {
      case .object(let members):
        var values = [JSONValue?](repeating: nil, count: features.count)
        for (j, (key, value)) in members.enumerated() {
          // Rows usually name the features in the model's order: a comparison finds it.
          let k =
            j < features.count && features[j] == key
            ? j : try recordColumn(key, field: "\(at()).\(key)")
          if let k { values[k] = value }
        }
        try append(values, to: &rows, field: at()) { "\(at()).\(self.features[$0])" }
      case .array(let cells):
        guard cells.count == features.count else {
          throw .bad(
            "a row given as an array must hold the model's \(features.count) features in order (\(features.prefix(6).joined(separator: ", "))\(features.count > 6 ? ", …" : "")), found \(cells.count) values",
            field: at())
        }
        try append(cells, to: &rows, field: at()) { "\(at())[\($0)]" }
      default:
        throw .bad(
          "a row must be an object of features by name or an array of \(features.count) values, found \(item.kind)",
          field: at())
      }
    }
    return rows
  }

  /// Reads pandas' `split` orientation: `{"columns": [...], "data": [[...], ...]}`.
  public func rows(split: JSONValue, field: String, maxRows: Int) throws(ServeError) -> Rows {
    guard case .object = split else {
      throw .bad("'\(field)' must be an object with 'columns' and 'data'", field: field)
    }
    guard case .array(let names)? = split["columns"] else {
      throw .bad("'\(field).columns' must be an array of column names", field: "\(field).columns")
    }
    guard case .array(let data)? = split["data"] else {
      throw .bad("'\(field).data' must be an array of rows", field: "\(field).data")
    }
    // Each column's feature, or nil for a column of the training table the model does not read.
    var order: [Int?] = []
    var seen = Set<Int>()
    for (j, n) in names.enumerated() {
      guard case .string(let name) = n else {
        throw .bad(
          "a column name must be a string, found \(n.kind)", field: "\(field).columns[\(j)]")
      }
      guard let k = try recordColumn(name, field: "\(field).columns[\(j)]") else {
        order.append(nil)
        continue
      }
      guard seen.insert(k).inserted else {
        throw .bad("column '\(name)' is named twice", field: "\(field).columns[\(j)]")
      }
      order.append(k)
    }
    try check(count: data.count, maxRows: maxRows, field: "\(field).data")
    var rows = Rows()
    rows.x.reserveCapacity(data.count * inputWidth)
    for (i, item) in data.enumerated() {
      let at = { "\(field).data[\(i)]" }  // built only for an error
      guard case .array(let cells) = item, cells.count == order.count else {
        throw .bad(
          "each row must be an array of \(order.count) values, one per column", field: at())
      }
      var values = [JSONValue?](repeating: nil, count: features.count)
      for (j, k) in order.enumerated() { if let k { values[k] = cells[j] } }
      try append(values, to: &rows, field: at()) { k in "\(at())[\(order.firstIndex(of: k) ?? k)]" }
    }
    return rows
  }

  func check(count: Int, maxRows: Int, field: String) throws(ServeError) {
    if count == 0 { throw .bad("no rows to predict", field: field) }
    if count > maxRows {
      throw ServeError(
        413, "\(count) rows in one request; the server takes at most \(maxRows) (--max-rows)",
        field: field)
    }
  }

  // MARK: Writing answers

  /// Writes one row's answer: the class name (or, with probabilities, an object with the class
  /// and its probabilities), or the target value (an object of targets when there are several).
  func writePrediction(
    _ out: UnsafeBufferPointer<Float>, options: ReplyOptions, into w: inout JSONWriter
  )
    throws(ServeError)
  {
    guard out.allSatisfy(\.isFinite) else {
      throw ServeError(422, "the model's output is not finite for these values")
    }
    if let classes = reading.classes {
      let best = reading.predictedClass(out)
      guard options.probabilities else {
        w.string(classes[best])
        return
      }
      w.raw("{")
      w.key("class")
      w.string(classes[best])
      w.raw(",")
      w.key("probabilities")
      w.raw("{")
      for (c, p) in reading.classProbabilities(out).enumerated() {
        if c > 0 { w.raw(",") }
        w.key(classes[c])
        w.number(p)
      }
      w.raw("}}")
      return
    }
    let values = reading.targetValues(out)
    guard values.allSatisfy(\.isFinite) else {
      throw ServeError(422, "the model's output is not finite for these values")
    }
    if values.count == 1 {
      w.number(values[0])
      return
    }
    w.raw("{")
    for (t, v) in values.enumerated() {
      if t > 0 { w.raw(",") }
      w.key(reading.targets[t])
      w.number(v)
    }
    w.raw("}")
  }

  /// `{"predictions": [...]}` for rows of x^N.
  public func predictionsJSON(_ y: [Float], rows: Int, options: ReplyOptions) throws(ServeError)
    -> String
  {
    let n = reading.outputs
    var w = JSONWriter()
    w.raw("{\"predictions\":[")
    for r in 0..<rows {
      if r > 0 { w.raw(",") }
      try y.withUnsafeBufferPointer { (p) throws(ServeError) in
        try writePrediction(
          UnsafeBufferPointer(rebasing: p[r * n..<(r + 1) * n]), options: options, into: &w)
      }
    }
    w.raw("]}")
    return w.text
  }
}

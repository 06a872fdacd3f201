// Tampered and foreign model files: each is read by the hardened reader and refused with an error
// that names what is wrong (never a crash, never a silent wrong model), and a model read from a
// run directory is never a symbolic link out of it. Files are built byte by byte here, so every
// field can be set to what an attacker would write.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct ModelFileHostileTests {
  /// The error reading `bytes` gives (nil: it was read).
  static func error(_ bytes: ModelBytes) -> String? {
    do {
      _ = try Model.decode(bytes.data, file: "m.safetensors")
      return nil
    } catch { return error.description }
  }

  @Test func theBaseFileIsAModel() throws {
    let model = try Model.decode(ModelBytes().data, file: "m.safetensors")
    #expect(model.network.layers.map(\.units) == [2])
    let out = Predictor(model).run([1, 0], rows: 1)
    // z = W·(1, 0) + b = (1 + 0.5, 3 − 0.5): the second class.
    #expect(out[1] > out[0])
  }

  struct Tampering: CustomTestStringConvertible, Sendable {
    var name: String
    var expected: String
    var change: @Sendable (inout ModelBytes) -> Void
    var testDescription: String { name }
  }

  /// Format 4 with feature transforms: x piecewise-linear over `edges` (one column per bin, so
  /// one bin here keeps the two inputs) unless `scaling` says otherwise; y standard.
  static func transformed(
    _ b: inout ModelBytes, scaling: String = "piecewise_linear", edges: [Double]?
  ) {
    b.format = "mlpc-4"
    b.description["format"] = 4
    var x: [String: Any] = ["indicator": false, "scaling": scaling, "center": 0, "scale": 1]
    if let edges { x["edges"] = edges }
    let y: [String: Any] = ["indicator": false, "scaling": "standard", "center": 0, "scale": 1]
    b.description["transforms"] = [
      "columns": [["name": "x", "numeric": x], ["name": "y", "numeric": y]],
      "missing_values": [""],
    ]
  }

  @Test func piecewiseLinearTransformsAreRead() throws {
    var bytes = ModelBytes()
    Self.transformed(&bytes, edges: [-1, 3])
    let model = try Model.decode(bytes.data, file: "m.safetensors")
    #expect(model.description.transforms?.columns.first?.numeric?.edges == [-1, 3])
  }

  @Test func aFrontScaleIsRead() throws {
    var bytes = ModelBytes()
    bytes.description["front_scale"] = true
    bytes.tensors["front.scale"] = ([2], [24, 32])
    bytes.values += [2, 0.5]
    let model = try Model.decode(bytes.data, file: "m.safetensors")
    #expect(model.network.frontScale && model.tensors["front.scale"]?.values == [2, 0.5])
    // x = (1, 0) scaled to (2, 0): z = W·(2, 0) + b = (2 + 0.5, 6 − 0.5).
    let out = Predictor(model).run([1, 0], rows: 1)
    let softmax = [2.5, 5.5].map { exp($0) }
    #expect(abs(Double(out[1]) - softmax[1] / softmax.reduce(0, +)) < 1e-6)
  }

  /// An ensemble of two members: member 0 has bias (0.5, −0.5), W = [[1, 2], [3, 4]] and adapter
  /// (1, 1); member 1 bias 0, W = 2I and adapter (−1, 1) (`adapter`: the adapter's shape).
  static func ensemble(_ b: inout ModelBytes, members: Any = 2, adapter: [Any] = [2, 2]) {
    b.description["ensemble"] = members
    b.tensors = [
      "o.bias": ([2, 2], [0, 16]), "o.weight": ([2, 2, 2], [16, 48]),
      "ensemble.adapter": (adapter, [48, 64]),
    ]
    b.values = [0.5, -0.5, 0, 0, 1, 2, 3, 4, 2, 0, 0, 2, 1, 1, -1, 1]
  }

  @Test func anEnsembleIsRead() throws {
    var bytes = ModelBytes()
    Self.ensemble(&bytes)
    let model = try Model.decode(bytes.data, file: "m.safetensors")
    #expect(model.network.members == 2)
    // x = (1, 0): member 0 reads (1, 0), z = (1.5, 2.5); member 1 reads (−1, 0), z = (−2, 0);
    // the prediction is the mean of their softmax probabilities.
    let out = Predictor(model).run([1, 0], rows: 1)
    let softmax = { (z: [Double]) in z.map { exp($0) / z.map(exp).reduce(0, +) } }
    let (a, b) = (softmax([1.5, 2.5]), softmax([-2, 0]))
    for c in 0..<2 { #expect(abs(Double(out[c]) - (a[c] + b[c]) / 2) < 1e-6, "\(out)") }
  }

  /// Format 4 whose x has a periodic embedding of one frequency f = 0.125 and width 1
  /// (W = (1, 0.5), b = 0.25), y standard; `settings` and `tensors` may be changed.
  static func periodic(
    _ b: inout ModelBytes, settings: [String: Any] = [:], scaling: String = "standard",
    yPeriodic: [String: Any]? = nil
  ) {
    transformed(&b, scaling: scaling, edges: scaling == "piecewise_linear" ? [0, 1] : nil)
    var p: [String: Any] = ["frequencies": 1, "dim": 1, "sigma": 0.01, "lite": false]
    for (k, v) in settings { p[k] = v }
    var transforms = b.description["transforms"] as! [String: Any]
    var columns = transforms["columns"] as! [[String: Any]]
    var x = columns[0]["numeric"] as! [String: Any]
    x["periodic"] = p
    columns[0]["numeric"] = x
    if let yPeriodic {
      var y = columns[1]["numeric"] as! [String: Any]
      y["periodic"] = yPeriodic
      columns[1]["numeric"] = y
    }
    transforms["columns"] = columns
    b.description["transforms"] = transforms
    b.tensors["x.periodic.weight"] = ([1, 2], [24, 32])
    b.tensors["x.periodic.bias"] = ([1], [32, 36])
    b.tensors["x.periodic.frequencies"] = ([1], [36, 40])
    b.values += [1, 0.5, 0.25, 0.125]
  }

  @Test func aPeriodicEmbeddingIsRead() throws {
    var bytes = ModelBytes()
    Self.periodic(&bytes)
    let model = try Model.decode(bytes.data, file: "m.safetensors")
    #expect(model.network.periodic.map(\.name) == ["x"])
    // x = 1: angle 2π·0.125 = π/4, e = relu(cos π/4 + 0.5 sin π/4 + 0.25); x^0 = (e, 0);
    // z = W·x^0 + b = (e + 0.5, 3e − 0.5).
    let e = 1.5 * (0.5 as Double).squareRoot() + 0.25
    let out = Predictor(model).run([1, 0], rows: 1)
    let z = [e + 0.5, 3 * e - 0.5].map { exp($0) }
    #expect(abs(Double(out[1]) - z[1] / z.reduce(0, +)) < 1e-6, "\(out)")
  }

  static let periodicTamperings: [Tampering] = [
    Tampering(name: "periodic with no frequencies", expected: "has a periodic embedding with") {
      periodic(&$0, settings: ["frequencies": 0])
    },
    Tampering(name: "periodic with σ < 0", expected: "has a periodic embedding with") {
      periodic(&$0, settings: ["sigma": -1])
    },
    Tampering(name: "periodic of a huge width", expected: "has a periodic embedding with") {
      periodic(&$0, settings: ["dim": 1 << 40])
    },
    Tampering(name: "periodic over bins", expected: "has a periodic embedding with") {
      periodic(&$0, scaling: "piecewise_linear")
    },
    Tampering(name: "a periodic weight of the wrong shape", expected: "does not match its feature")
    {
      periodic(&$0)
      $0.tensors["x.periodic.weight"] = ([2, 1], [24, 32])
    },
    Tampering(name: "periodic frequencies missing", expected: "'x.periodic.frequencies'") {
      periodic(&$0)
      $0.tensors["x.periodic.frequencies"] = nil
      $0.values.removeLast()
    },
    Tampering(name: "periodic tensors without an embedding", expected: "belongs to no layer") {
      transformed(&$0, scaling: "standard", edges: nil)
      $0.tensors["x.periodic.bias"] = ([1], [24, 28])
      $0.values += [1]
    },
    Tampering(name: "lite embeddings of two sizes", expected: "differ in size") {
      periodic(
        &$0, settings: ["lite": true],
        yPeriodic: ["frequencies": 2, "dim": 1, "sigma": 0.01, "lite": true])
    },
    Tampering(name: "periodic frequencies that are not finite", expected: "not finite") {
      periodic(&$0)
      $0.values[$0.values.count - 1] = .nan
    },
  ]

  @Test(arguments: periodicTamperings) func aTamperedPeriodicEmbeddingIsRefused(_ t: Tampering)
    throws
  {
    var bytes = ModelBytes()
    t.change(&bytes)
    let message = try #require(Self.error(bytes), "the tampered file was read as a model")
    #expect(message.contains(t.expected), "\(message)")
  }

  /// `ensemble(_:)` as independent members: no adapters, member 1 reads x as it is.
  static func independent(_ b: inout ModelBytes) {
    ensemble(&b)
    b.description["ensemble_kind"] = "independent"
    b.tensors["ensemble.adapter"] = nil
    b.values.removeLast(4)
  }

  @Test func independentMembersAreRead() throws {
    var bytes = ModelBytes()
    Self.independent(&bytes)
    let model = try Model.decode(bytes.data, file: "m.safetensors")
    #expect(model.network.members == 2 && model.network.ensembleKind == .independent)
    // x = (1, 0): member 0's z = (1.5, 2.5), member 1's z = 2I·(1, 0) = (2, 0).
    let out = Predictor(model).run([1, 0], rows: 1)
    let softmax = { (z: [Double]) in z.map { exp($0) / z.map(exp).reduce(0, +) } }
    let (a, b) = (softmax([1.5, 2.5]), softmax([2, 0]))
    for c in 0..<2 { #expect(abs(Double(out[c]) - (a[c] + b[c]) / 2) < 1e-6, "\(out)") }
  }

  /// TabM of two members (`batch_ensemble`): a BatchEnsemble hidden layer h (W = I, member
  /// biases (0, 0) and (1, 1), output scales (1, 1) and (2, 2)), adapters of ones, and output
  /// layers I and 2I without bias.
  static func tabm(_ b: inout ModelBytes, scale: [Any] = [2, 2]) {
    b.description["ensemble"] = 2
    b.description["ensemble_kind"] = "batch_ensemble"
    b.description["layers"] = [
      ["name": "h", "units": 2, "activation": "relu", "parameters": [:]],
      ["name": "o", "units": 2, "activation": "softmax", "parameters": [:]],
    ]
    b.tensors = [
      "h.weight": ([2, 2], [0, 16]), "h.bias": ([2, 2], [16, 32]),
      "h.output_scale": (scale, [32, 48]), "ensemble.adapter": ([2, 2], [48, 64]),
      "o.weight": ([2, 2, 2], [64, 96]), "o.bias": ([2, 2], [96, 112]),
    ]
    b.values =
      [1, 0, 0, 1] + [0, 0, 1, 1] + [1, 1, 2, 2] + [1, 1, 1, 1] + [1, 0, 0, 1, 2, 0, 0, 2]
      + [0, 0, 0, 0]
  }

  @Test func aTabMIsRead() throws {
    var bytes = ModelBytes()
    Self.tabm(&bytes)
    let model = try Model.decode(bytes.data, file: "m.safetensors")
    #expect(
      model.network.ensembleKind == .batchEnsemble && model.network.batchEnsembleLayers == [1])
    // x = (1, 0): member 0's hidden z = (1, 0), logits (1, 0); member 1's hidden
    // z = (1, 0) ⊙ (2, 2) + (1, 1) = (3, 1), logits 2·(3, 1) = (6, 2).
    let out = Predictor(model).run([1, 0], rows: 1)
    let softmax = { (z: [Double]) in z.map { exp($0) / z.map(exp).reduce(0, +) } }
    let (a, b) = (softmax([1, 0]), softmax([6, 2]))
    for c in 0..<2 { #expect(abs(Double(out[c]) - (a[c] + b[c]) / 2) < 1e-6, "\(out)") }
  }

  static let kindTamperings: [Tampering] = [
    Tampering(name: "an unknown ensemble kind", expected: "ensemble kind 'bagged'") {
      ensemble(&$0)
      $0.description["ensemble_kind"] = "bagged"
    },
    Tampering(name: "an ensemble kind without members", expected: "one without members") {
      $0.description["ensemble_kind"] = "independent"
    },
    Tampering(name: "independent members with adapters", expected: "'ensemble.adapter' belongs") {
      ensemble(&$0)
      $0.description["ensemble_kind"] = "independent"
    },
    Tampering(name: "TabM with scales of one member", expected: "its member scales") {
      tabm(&$0, scale: [1, 4])
    },
    Tampering(name: "TabM without its scales", expected: "its member scales") {
      tabm(&$0)
      $0.tensors["h.output_scale"] = nil
      $0.tensors["ensemble.adapter"] = ([2, 2], [32, 48])
      $0.tensors["o.weight"] = ([2, 2, 2], [48, 80])
      $0.tensors["o.bias"] = ([2, 2], [80, 96])
      $0.values.removeLast(4)
    },
    Tampering(name: "TabM with a shared hidden bias", expected: "'h' does not match its tensors") {
      tabm(&$0)
      $0.tensors["h.bias"] = ([4], [16, 32])
    },
    Tampering(name: "TabM-mini without adapters", expected: "ensemble adapters do not match") {
      independent(&$0)
      $0.description["ensemble_kind"] = nil
    },
  ]

  @Test(arguments: kindTamperings) func aTamperedEnsembleKindIsRefused(_ t: Tampering) throws {
    var bytes = ModelBytes()
    t.change(&bytes)
    let message = try #require(Self.error(bytes), "the tampered file was read as a model")
    #expect(message.contains(t.expected), "\(message)")
  }

  static let tamperings: [Tampering] = [
    Tampering(name: "an ensemble of 0 members", expected: "an ensemble of 0 members") {
      ensemble(&$0, members: 0)
    },
    Tampering(name: "an ensemble of 65 members", expected: "an ensemble of 65 members") {
      ensemble(&$0, members: 65)
    },
    Tampering(name: "ensemble adapters of one member", expected: "ensemble adapters do not") {
      ensemble(&$0, adapter: [1, 4])
    },
    Tampering(name: "a 3-member ensemble of 2 outputs", expected: "does not match its tensors") {
      ensemble(&$0, members: 3)
    },
    Tampering(name: "adapters without an ensemble", expected: "'ensemble.adapter' belongs") {
      $0.tensors["ensemble.adapter"] = ([2, 2], [24, 40])
      $0.values += [1, 1, 1, 1]
    },
    Tampering(name: "an ensemble with one output layer", expected: "does not match its tensors") {
      $0.description["ensemble"] = 2
      $0.tensors["ensemble.adapter"] = ([2, 2], [24, 40])
      $0.values += [1, 1, 1, 1]
    },
    Tampering(name: "a front scale of the wrong width", expected: "front scale does not match") {
      $0.description["front_scale"] = true
      $0.tensors["front.scale"] = ([3], [24, 36])
      $0.values += [1, 1, 1]
    },
    Tampering(name: "a front scale without its flag", expected: "'front.scale' belongs to no") {
      $0.tensors["front.scale"] = ([2], [24, 32])
      $0.values += [1, 1]
    },
    Tampering(name: "the flag without a front scale", expected: "front scale does not match") {
      $0.description["front_scale"] = true
    },
    Tampering(name: "bin edges not increasing", expected: "bin edges that are not strictly") {
      transformed(&$0, edges: [3, -1])
    },
    Tampering(name: "equal bin edges", expected: "bin edges that are not strictly") {
      transformed(&$0, edges: [2, 2])
    },
    Tampering(name: "one bin edge", expected: "bin edges that are not strictly") {
      transformed(&$0, edges: [2])
    },
    Tampering(name: "infinitely wide bin", expected: "or too far apart") {
      transformed(&$0, edges: [-1e308, 1e308])
    },
    Tampering(name: "piecewise-linear without edges", expected: "bin edges without") {
      transformed(&$0, edges: nil)
    },
    Tampering(name: "edges under another scaling", expected: "bin edges without") {
      transformed(&$0, scaling: "standard", edges: [0, 1])
    },
    Tampering(name: "offsets near Int64.max", expected: "outside the file") {
      $0.tensors["o.weight"] = ([2, 2], [Int64.max - 16, Int64.max])
    },
    Tampering(name: "shape 2^32 × 2^32", expected: "needs more bytes than the file holds") {
      $0.tensors["o.weight"] = ([1 << 32, 1 << 32], [8, 24])
    },
    Tampering(name: "shape 2^61", expected: "needs more bytes than the file holds") {
      $0.tensors["o.weight"] = ([1 << 61], [8, 24])
    },
    Tampering(name: "negative shape", expected: "no valid shape") {
      $0.tensors["o.weight"] = ([-2, -2], [8, 24])
    },
    Tampering(name: "overlapping offsets", expected: "overlaps") {
      $0.tensors["o.weight"] = ([2, 2], [4, 20])
      $0.values.removeLast()
    },
    Tampering(name: "a gap between tensors", expected: "gap") {
      $0.tensors["o.weight"] = ([2, 2], [12, 28])
      $0.values.append(0)
    },
    Tampering(name: "bytes after the last tensor", expected: "belong to none") {
      $0.values.append(7)
    },
    Tampering(name: "header length past the end", expected: "header length") {
      $0.declaredLength = UInt64.max - 3
    },
    Tampering(name: "fewer classes than outputs", expected: "1 classes for 2 output units") {
      $0.description["classes"] = ["a"]
    },
    Tampering(name: "more classes than outputs", expected: "3 classes for 2 output units") {
      $0.description["classes"] = ["a", "b", "c"]
    },
    Tampering(name: "a class named twice", expected: "class 'a' is named twice") {
      $0.description["classes"] = ["a", "a"]
    },
    Tampering(name: "a feature named twice", expected: "feature 'x' is named twice") {
      $0.description["features"] = ["x", "x"]
    },
    Tampering(name: "fewer features than inputs", expected: "1 features for 2 inputs") {
      $0.description["features"] = ["x"]
    },
    Tampering(name: "a NaN weight", expected: "'o.weight' holds values that are not finite") {
      $0.values[3] = .nan
    },
    Tampering(name: "an infinite bias", expected: "'o.bias' holds values that are not finite") {
      $0.values[0] = .infinity
    },
    Tampering(name: "a tensor no layer uses", expected: "'p.weight' belongs to no layer") {
      $0.tensors["p.weight"] = ([1], [24, 28])
      $0.values.append(1)
    },
    Tampering(name: "a missing bias", expected: "does not match its tensors") {
      $0.tensors["o.bias"] = nil
      $0.tensors["o.weight"] = ([2, 2], [0, 16])
      $0.values.removeFirst(2)
    },
    Tampering(name: "units beyond any width", expected: "does not match its tensors") {
      $0.description["layers"] = [
        ["name": "o", "units": 1 << 40, "activation": "softmax", "parameters": [:]]
      ]
    },
    Tampering(name: "an unknown activation", expected: "unknown activation 'gelu2'") {
      $0.description["layers"] = [
        ["name": "o", "units": 2, "activation": "gelu2", "parameters": [:]]
      ]
    },
    Tampering(name: "a regression with too few targets", expected: "1 targets for 2 output") {
      $0.description["task"] = "regression"
      $0.description["loss"] = "mse"
      $0.description["classes"] = nil
    },
    Tampering(name: "a non-positive standard deviation", expected: "not positive") {
      $0.description["standardized"] = true
      $0.tensors["input.mean"] = ([2], [24, 32])
      $0.tensors["input.std"] = ([2], [32, 40])
      $0.values += [0, 0, 1, 0]
    },
    Tampering(name: "F64 tensors", expected: "not float32") { $0.dtype = "F64" },
  ]

  @Test(arguments: tamperings) func isRefusedWithItsCause(_ t: Tampering) throws {
    var bytes = ModelBytes()
    t.change(&bytes)
    let message = try #require(Self.error(bytes), "the tampered file was read as a model")
    #expect(message.contains(t.expected), "\(message)")
    #expect(message.hasPrefix("'m.safetensors'"), "\(message)")
  }

  @Test func theBatchIsCappedByTheRowsAndTheModelsWidth() throws {
    let model = try Model.decode(ModelBytes().data, file: "m.safetensors")
    #expect(Predictor(model, batchSize: 512, rows: 30).executor.plan.batchSize == 30)
    #expect(Predictor(model, batchSize: 512).executor.plan.batchSize == 512)
    // A layer of 2^24 units: 2^26 floats allow 3 rows of 2 + 2^24 + 2 floats, not 512.
    let wide = Network(
      name: "w", task: .classification, input: 2,
      layers: [
        CheckedLayer(name: "h", units: 1 << 24, activation: .relu, parameter: nil),
        CheckedLayer(name: "o", units: 2, activation: .softmax, parameter: nil),
      ], loss: .crossEntropy)
    #expect(Predictor.batchSize(512, for: wide) == 3)
    // An ensemble of 4: each member's rows of 2 + 2^24 + 2 floats, 4 + 2 + 2 more: one row.
    let members = Network(
      name: "w", task: .classification, input: 2, layers: wide.layers, loss: .crossEntropy,
      members: 4)
    #expect(Predictor.batchSize(512, for: members) == 1)
    // TabM of 2 over a layer of 2^22: each member's rows of 2 + 2^22 + 2 floats and, in its
    // BatchEnsemble layer, the scaled input and the product (2 + 2^22): 3 rows, where TabM-mini's
    // members without them fit 7.
    let narrower = [
      CheckedLayer(name: "h", units: 1 << 22, activation: .relu, parameter: nil),
      CheckedLayer(name: "o", units: 2, activation: .softmax, parameter: nil),
    ]
    for (kind, rows) in [(EnsembleKind.batchEnsemble, 3), (.mini, 7)] {
      let network = Network(
        name: "w", task: .classification, input: 2, layers: narrower, loss: .crossEntropy,
        members: 2, ensembleKind: kind)
      #expect(Predictor.batchSize(512, for: network) == rows, "\(kind)")
    }
  }

  @Test func metadataIsBoundedAndEscapedInErrors() throws {
    var bytes = ModelBytes()
    bytes.format = "\u{1b}[31m" + String(repeating: "x", count: 5_000_000)
    let message = try #require(Self.error(bytes))
    #expect(message.utf8.count < 500)
    #expect(!message.contains("\u{1b}"))
  }

  @Test func everyTruncationIsAnErrorNotACrash() {
    let whole = ModelBytes().data
    for length in 0..<whole.count {
      #expect(throws: ModelFileError.self) {
        try Model.decode(whole.prefix(length), file: "m.safetensors")
      }
    }
  }

  @Test func aRunsModelIsNotReadThroughALink() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try ModelBytes().data.write(to: URL(fileURLWithPath: dir + "/elsewhere.safetensors"))
    try FileManager.default.createDirectory(
      atPath: dir + "/run", withIntermediateDirectories: false)
    try FileManager.default.createSymbolicLink(
      atPath: dir + "/run/model.safetensors", withDestinationPath: dir + "/elsewhere.safetensors")
    do {
      _ = try Model.load(dir + "/run")
      Issue.record("a linked model.safetensors was read")
    } catch { #expect(error.description.contains("symbolic link"), "\(error)") }
    // Named directly, the user's own link is followed.
    #expect(try Model.load(dir + "/run/model.safetensors").network.input == 2)
    // A FIFO is refused at once, not waited on.
    #expect(mkfifo(dir + "/fifo", 0o600) == 0)
    do {
      _ = try Model.load(dir + "/fifo")
      Issue.record("a FIFO was read")
    } catch { #expect(error.description.contains("named pipe"), "\(error)") }
  }
}

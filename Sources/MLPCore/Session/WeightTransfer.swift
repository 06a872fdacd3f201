// `mlpc run SPEC --init-from RUN_OR_MODEL`: a new run (new optimizer state and schedule) whose
// weights start from a trained model's, layer by layer in order, each of the same shape; the
// embedding tables and periodic embeddings by name, and the front scale when both have one (a spec's new front
// scale starts at 1); an ensemble's output layers and adapters from an ensemble of as many
// members of the same kind. Checked in full before any run directory exists.

/// A trained model's parameters fitted to a network.
public struct WeightTransfer: Sendable {
  /// W^k and b^k for k = 1…N, and each embedding table, in the network's order.
  public var weights: [[Float]]
  public var biases: [[Float]]
  public var tables: [[Float]]
  /// The periodic embeddings' tensors, in `Network.periodicTensors` order.
  public var periodic: [[Float]] = []
  /// The model's front scale, when both it and the network have one.
  public var frontScale: [Float]? = nil
  /// The model's ensemble adapters (both are ensembles of as many members).
  public var adapter: [Float]? = nil
  /// The BatchEnsemble layers' scales (both are TabM ensembles of as many members), in layer
  /// order.
  public var memberScales: [[Float]] = []

  /// Why a model's weights do not fit: the layer (1-based) or embedding column, and how.
  public struct Mismatch: Error, Sendable, CustomStringConvertible {
    public var layer: Int?
    public var description: String
  }

  /// The model's parameters for `network`, or the first layer that does not match.
  public static func fit(_ model: Model, to network: Network) -> Result<WeightTransfer, Mismatch> {
    let theirs = model.network
    guard theirs.layers.count == network.layers.count else {
      return .failure(
        Mismatch(
          layer: min(theirs.layers.count, network.layers.count) + 1,
          description:
            "the model has \(theirs.layers.count) layers and this spec \(network.layers.count)"))
    }
    guard theirs.members == network.members else {
      let size = { (k: Int) in k == 1 ? "a single network" : "an ensemble of \(k) members" }
      return .failure(
        Mismatch(
          layer: network.layers.count,
          description:
            "this spec trains \(size(network.members)) but the model is \(size(theirs.members)): the output layers differ"
        ))
    }
    guard network.members == 1 || theirs.ensembleKind == network.ensembleKind else {
      return .failure(
        Mismatch(
          layer: 1,
          description:
            "this spec trains an ensemble of kind '\(network.ensembleKind.rawValue)' but the model's kind is '\(theirs.ensembleKind.rawValue)': their layers are shared differently"
        ))
    }
    var transfer = WeightTransfer(weights: [], biases: [], tables: [])
    let (ours, others) = (network.widths, theirs.widths)
    for (k, (mine, their)) in zip(network.layers, theirs.layers).enumerated() {
      let want = "\(ours[k + 1])×\(ours[k])"
      let have = "\(others[k + 1])×\(others[k])"
      guard want == have, let w = model.tensors[their.name + ".weight"],
        let b = model.tensors[their.name + ".bias"]
      else {
        return .failure(
          Mismatch(
            layer: k + 1,
            description:
              "layer \(k + 1) ('\(mine.name)') has W of \(want) here but the model's layer \(k + 1) ('\(their.name)') is \(have)"
          ))
      }
      transfer.weights.append(w.values)
      transfer.biases.append(b.values)
    }
    // The model's tensor `name`, of the shape this spec gives `what`.
    func values(_ name: String, _ shape: [Int], _ what: String, layer: Int? = nil)
      -> Result<[Float], Mismatch>
    {
      if let t = model.tensors[name], t.shape == shape { return .success(t.values) }
      let size = { (shape: [Int]) in shape.map(String.init).joined(separator: "×") }
      return .failure(
        Mismatch(
          layer: layer,
          description: "\(what) is \(size(shape)) here but "
            + (model.tensors[name].map { "the model's is \(size($0.shape))" }
              ?? "the model has none")))
    }
    for e in network.embeddings {
      switch values(e.tensorName, [e.rows, e.dim], "the embedding of '\(e.name)'") {
      case .success(let v): transfer.tables.append(v)
      case .failure(let m): return .failure(m)
      }
    }
    for p in network.periodicTensors {
      switch values(p.name, p.shape, "the periodic embedding tensor '\(p.name)'") {
      case .success(let v): transfer.periodic.append(v)
      case .failure(let m): return .failure(m)
      }
    }
    if network.frontScale, theirs.frontScale, let s = model.tensors[Network.frontScaleName],
      s.shape == [network.input]
    {
      transfer.frontScale = s.values
    }
    for k in network.batchEnsembleLayers.sorted() {
      let theirName = theirs.layers[k - 1].name
      let scales =
        (k > 1 ? [(Network.inputScaleName(theirName), ours[k - 1])] : [])
        + [(Network.outputScaleName(theirName), ours[k])]
      for (name, width) in scales {
        switch values(name, [network.members, width], "the member scale '\(name)'", layer: k) {
        case .success(let v): transfer.memberScales.append(v)
        case .failure(let m): return .failure(m)
        }
      }
    }
    if network.members > 1, let r = model.tensors[Network.adapterName],
      r.shape == [network.members, network.input]
    {
      transfer.adapter = r.values
    }
    return .success(transfer)
  }

  /// Puts the weights into `executor`'s parameters.
  func apply(to executor: Executor) {
    let plan = executor.plan
    for (id, values) in zip(plan.weights, weights) { executor.setValues(id, values) }
    for (id, values) in zip(plan.biases, biases) { executor.setValues(id, values) }
    for (id, values) in zip(plan.embeddings, tables) { executor.setValues(id, values) }
    for (id, values) in zip(plan.periodic, periodic) { executor.setValues(id, values) }
    if let id = plan.frontScale, let frontScale { executor.setValues(id, frontScale) }
    if let id = plan.adapter, let adapter { executor.setValues(id, adapter) }
    for (id, values) in zip(plan.memberScales, memberScales) { executor.setValues(id, values) }
  }
}

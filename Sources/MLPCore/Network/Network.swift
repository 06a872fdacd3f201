// The network a plan is compiled from: n^0 and the checked layers, without training settings
// or data, shared by Check (which builds it from a spec), Plan and Model (which builds it from a
// model file).

/// One layer after checking: n^k units and σ^k.
public struct CheckedLayer: Sendable, Equatable {
  public var name: String
  public var units: Int
  public var activation: Activation
  /// σ's parameter (leaky_relu's slope, elu's alpha), its default when not given; 0 if none.
  public var parameter: Float
  /// Resolved initialiser (never `.auto`).
  public var initializer: InitKind
  /// The dropout probability on the layer's output during training (0: none).
  public var dropout: Float

  public init(
    name: String, units: Int, activation: Activation, parameter: Float? = nil,
    initializer: InitKind = .auto, dropout: Float = 0
  ) {
    self.dropout = dropout
    self.name = name
    self.units = units
    self.activation = activation
    self.parameter = parameter ?? Float(activation.parameter?.defaultValue ?? 0)
    self.initializer = initializer == .auto ? activation.defaultInitializer : initializer
  }
}

/// What a plan is compiled from: the network alone, without training settings or data, so a
/// plan can also come from a trained model's description.
public struct Network: Sendable, Equatable {
  public let name: String
  public let task: Task
  /// n^0
  public let input: Int
  /// Layers 1...N.
  public let layers: [CheckedLayer]
  public let loss: LossKind

  public init(name: String, task: Task, input: Int, layers: [CheckedLayer], loss: LossKind) {
    precondition(input >= 1 && !layers.isEmpty)
    self.name = name
    self.task = task
    self.input = input
    self.layers = layers
    self.loss = loss
  }

  /// n^0, n^1, ..., n^N
  public var widths: [Int] { [input] + layers.map(\.units) }
}

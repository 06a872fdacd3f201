// Built-in synthetic data sets, so a spec can run with no files. Each is a pure function of its
// parameters and a seed (documented in docs/spec.md).

import Foundation

/// Parameters of a built-in data set, with defaults applied.
public struct GeneratorConfig: Sendable, Equatable {
  public var kind: GeneratorKind
  public var samples: Int
  public var noise: Double
  public var classes: Int
  public var dimensions: Int

  /// Defaults per kind: xor 4 samples no noise; spirals 300 × 2 classes noise 0.2;
  /// blobs 300 × 3 classes in 2-D noise 1; sine 1000 samples in 1-D noise 0.1.
  public init(kind: GeneratorKind, samples: Int?, noise: Double?, classes: Int?, dimensions: Int?) {
    self.kind = kind
    switch kind {
    case .xor:
      (self.samples, self.noise, self.classes, self.dimensions) = (samples ?? 4, noise ?? 0, 2, 2)
    case .spirals:
      (self.samples, self.noise, self.classes, self.dimensions) = (
        samples ?? 300, noise ?? 0.2, classes ?? 2, 2
      )
    case .blobs:
      (self.samples, self.noise, self.classes, self.dimensions) = (
        samples ?? 300, noise ?? 1, classes ?? 3, dimensions ?? 2
      )
    case .sine:
      (self.samples, self.noise, self.classes, self.dimensions) = (
        samples ?? 1000, noise ?? 0.1, 0, dimensions ?? 1
      )
    }
  }

  /// Number of input features the data has.
  public var inputs: Int { dimensions }
  /// Number of output units the data needs: classes, or 1 for sine.
  public var outputs: Int { kind == .sine ? 1 : classes }
}

/// Generates the data set described by `config` from `seed`.
public func generateDataset(_ config: GeneratorConfig, seed: UInt64) -> Dataset {
  var rng = SeededGenerator(seed: seed ^ 0xDA7A_5E7)
  var features: [Float] = []
  var labels: [Int] = []
  switch config.kind {
  case .xor:
    for i in 0..<config.samples {
      let (a, b) = (i & 1, (i >> 1) & 1)
      features += [
        Float(Double(a) + config.noise * rng.normal()),
        Float(Double(b) + config.noise * rng.normal()),
      ]
      labels.append(a ^ b)
    }
  case .spirals:
    for i in 0..<config.samples {
      let k = i % config.classes
      let t = Double(i / config.classes) / Double(max(1, (config.samples - 1) / config.classes))
      let angle = 4 * t + 2 * .pi * Double(k) / Double(config.classes) + config.noise * rng.normal()
      features += [Float(t * sin(angle)), Float(t * cos(angle))]
      labels.append(k)
    }
  case .blobs:
    let centers = (0..<config.classes * config.dimensions).map { _ in rng.uniform(-10, 10) }
    for i in 0..<config.samples {
      let k = i % config.classes
      for d in 0..<config.dimensions {
        features.append(Float(centers[k * config.dimensions + d] + config.noise * rng.normal()))
      }
      labels.append(k)
    }
  case .sine:
    var targets: [Float] = []
    for _ in 0..<config.samples {
      var sum = 0.0
      for _ in 0..<config.dimensions {
        let x = rng.uniform(-Double.pi, Double.pi)
        sum += x
        features.append(Float(x))
      }
      targets.append(Float(sin(sum) + config.noise * rng.normal()))
    }
    return Dataset(
      features: features, targets: targets, inputs: config.dimensions, outputs: 1, labels: nil)
  }
  return .classification(
    features: features, inputs: config.dimensions, labels: labels, classes: config.classes)
}

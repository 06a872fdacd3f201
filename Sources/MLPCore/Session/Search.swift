// Random search: `--search PATH=DISTRIBUTION` axes sampled `--trials` times from a seed.
// Distributions: log(a,b) (log-uniform, a > 0), uniform(a,b), int(a,b) (whole numbers a…b,
// both included) and choice(v1,v2,…). A sampled value is spec text, checked like any `--set`.

import Foundation

/// One `--search PATH=DISTRIBUTION` argument.
public struct SearchAxis: Sendable {
  public enum Distribution: Sendable, Equatable {
    case logUniform(Double, Double)
    case uniform(Double, Double)
    case integer(Int, Int)
    case choice([String])
  }

  public var path: String
  public var distribution: Distribution

  /// Parses `PATH=log(1e-4,1e-1)`; the reason when it is not one.
  public static func parse(_ argument: String) -> Result<SearchAxis, SearchError> {
    let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
    guard parts.count == 2, !parts[0].isEmpty else {
      return .failure(SearchError("--search needs PATH=DISTRIBUTION, found '\(argument)'"))
    }
    let text = parts[1].trimmingCharacters(in: .whitespaces)
    guard let open = text.firstIndex(of: "("), text.hasSuffix(")") else {
      return .failure(
        SearchError(
          "--search \(parts[0]): '\(text)' is not log(a,b), uniform(a,b), int(a,b) or choice(v1,v2,…)"
        ))
    }
    let name = String(text[..<open])
    let inner = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
    let args = splitTopLevel(inner)
    let numbers = args.compactMap { Double($0) }
    let fail = { (why: String) in
      Result<SearchAxis, SearchError>.failure(SearchError("--search \(parts[0]): \(why)"))
    }
    switch name {
    case "log", "uniform":
      guard args.count == 2, numbers.count == 2, numbers.allSatisfy(\.isFinite),
        numbers[0] < numbers[1]
      else { return fail("\(name)(a,b) needs two finite numbers a < b") }
      if name == "log" {
        guard numbers[0] > 0 else { return fail("log(a,b) needs a > 0") }
        return .success(
          SearchAxis(path: parts[0], distribution: .logUniform(numbers[0], numbers[1])))
      }
      return .success(SearchAxis(path: parts[0], distribution: .uniform(numbers[0], numbers[1])))
    case "int":
      let ints = args.compactMap { Int($0) }
      guard args.count == 2, ints.count == 2, ints[0] <= ints[1] else {
        return fail("int(a,b) needs two whole numbers a ≤ b")
      }
      return .success(SearchAxis(path: parts[0], distribution: .integer(ints[0], ints[1])))
    case "choice":
      guard !args.isEmpty else { return fail("choice(…) needs at least one value") }
      return .success(SearchAxis(path: parts[0], distribution: .choice(args)))
    default:
      return fail("unknown distribution '\(name)'; use log, uniform, int or choice")
    }
  }

  /// One value as spec text.
  public func sample(_ rng: inout SeededGenerator) -> String {
    switch distribution {
    case .logUniform(let a, let b):
      return shortest(exp(rng.uniform(Foundation.log(a), Foundation.log(b))))
    case .uniform(let a, let b): return shortest(rng.uniform(a, b))
    case .integer(let a, let b): return String(a + rng.index(below: b - a + 1))
    case .choice(let values): return values[rng.index(below: values.count)]
    }
  }

  /// The last key of the path, for labels.
  public var shortName: String { GridAxis("\(path)=x").shortName }

  /// `trials` draws of every axis from `seed`, the axes in order within a trial.
  public static func trials(_ axes: [SearchAxis], count: Int, seed: UInt64) -> [[String]] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in axes.map { $0.sample(&rng) } }
  }
}

/// A number with 4 significant digits, as spec text (0.0031, 120).
private func shortest(_ x: Double) -> String { String(format: "%.4g", x) }

/// A `--search` argument that cannot be read.
public struct SearchError: Error, CustomStringConvertible, Sendable {
  public var description: String
  init(_ description: String) { self.description = description }
}

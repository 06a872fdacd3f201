// `mlpc init`'s trial: the specs it could write (its numbers standardized or piecewise-linear)
// are each trained once on the table's own training rows, with the spec's validation split and
// early stopping and no refit, and the one whose best epoch had the lower validation loss is
// kept. No run directory is written and the test rows are never read, so the choice is the
// validation split's alone; a candidate that does not check or diverges loses.

import Foundation

/// Trains candidate specs and picks one by validation loss.
public enum SpecTrial {
  /// One candidate's result: its best epoch's validation loss, or why it has none.
  public enum Result: Sendable, Equatable {
    case loss(Double)
    case failed(String)

    public var loss: Double? {
      if case .loss(let value) = self { value } else { nil }
    }
  }

  /// Each candidate's result and the index of the one chosen (the first with the lowest
  /// validation loss; the first candidate when none trained). `file` names the spec in
  /// locations and resolves its data paths, as if the text were saved there.
  /// `reported` hears of each candidate as it ends, with the seconds it took.
  public static func choose(
    _ texts: [String], file: String,
    reported: (_ index: Int, _ result: Result, _ seconds: Double) -> Void = { _, _, _ in }
  ) -> (chosen: Int, results: [Result]) {
    var results: [Result] = []
    for (i, text) in texts.enumerated() {
      let start = Date()
      results.append(trial(text, file: file, maximumInputs: i == 0 ? nil : alternativeInputs))
      reported(i, results[i], Date().timeIntervalSince(start))
    }
    var chosen = 0
    for (i, result) in results.enumerated() {
      guard let loss = result.loss else { continue }
      if let best = results[chosen].loss, best <= loss { continue }
      chosen = i
    }
    return (chosen, results)
  }

  /// The widest x^0 a candidate after the first is trained with: piecewise-linear bins of a
  /// table of hundreds of numbers make tens of thousands of inputs, a trial of minutes for a
  /// choice the first candidate makes in seconds.
  public static let alternativeInputs = 4096

  /// The validation loss of `text`'s best epoch, trained without refit and without writing;
  /// not trained when its x^0 is wider than `maximumInputs`.
  public static func trial(_ text: String, file: String, maximumInputs: Int? = nil) -> Result {
    let overrides = [SpecOverride("training.early_stopping.refit=false", index: 1, option: "trial")]
    let checked = Checker.check(text: text, file: file, overrides: overrides)
    guard let spec = checked.spec else {
      let first = checked.diagnostics.first { $0.severity == .error }
      return .failed(first?.message ?? "the spec does not check")
    }
    if let maximumInputs, spec.network.input > maximumInputs {
      return .failed(
        "not tried: \(formatCount(Double(spec.network.input))) inputs, over \(formatCount(Double(maximumInputs)))"
      )
    }
    guard spec.data.validation != nil else { return .failed("no validation rows") }
    do {
      let session = try TrainingSession(spec, specPath: file, directory: nil)
      // The best epoch's loss: early stopping watches it, and without a directory the session
      // evaluates nothing once it ends.
      var best = Double.infinity
      var events = SessionEvents()
      events.epoch = { report in
        if let loss = report.validation?.loss, loss < best { best = loss }
      }
      let outcome = try session.train(events)
      if case .diverged(let epoch, _) = outcome.ending {
        return .failed("diverged in epoch \(epoch)")
      }
      guard best.isFinite else { return .failed("no validation loss") }
      return .loss(best)
    } catch {
      return .failed(error.description)
    }
  }
}

extension SpecTrial {
  /// `text` with a comment before its `features:` line saying what the trial found: each
  /// candidate's label and validation loss (or why it has none), the chosen one first.
  public static func annotated(
    _ text: String, chosen: Int, results: [Result], labels: [String]
  ) -> String {
    func said(_ i: Int) -> String {
      switch results[i] {
      case .loss(let loss): "\(labels[i]) (validation loss \(formatted(loss)))"
      case .failed(let why): "\(labels[i]) (\(why))"
      }
    }
    let others = results.indices.filter { $0 != chosen }.map(said).joined(separator: ", ")
    let comment = "  # numbers \(said(chosen)) over \(others): mlpc init's trial"
    guard let range = text.range(of: "\n  features:\n") else { return text }
    return text.replacingCharacters(
      in: range, with: "\n" + comment + "\n  features:\n")
  }

  /// Four significant digits.
  public static func formatted(_ x: Double) -> String { String(format: "%.4g", x) }
}

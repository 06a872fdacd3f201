// Resume from a checkpoint, at the level of the trainer: stopped at an epoch boundary or inside
// an epoch, saved, read back into a new trainer and continued, training ends with exactly the
// weights and optimizer state of an uninterrupted run, for every optimizer, with and without
// shuffling.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

struct ResumeCase: CustomTestStringConvertible, Sendable {
  var optimizer: String
  var shuffle: Bool
  /// Stop inside epoch 2 after this many steps; nil: at the end of epoch 2.
  var step: Int?
  /// The `ensemble` key's value (TabM's scales and the members' own layers resume too).
  var ensemble = "1"
  var testDescription: String {
    "\(optimizer) shuffle \(shuffle) stop \(step.map { "at step \($0)" } ?? "at epoch end")"
      + (ensemble == "1" ? "" : " ensemble \(ensemble)")
  }

  static let all =
    ["sgd", "momentum", "adam"].flatMap { o in
      [true, false].flatMap { s in
        [nil, 1, 7].map { ResumeCase(optimizer: o, shuffle: s, step: $0) }
      }
    } + [
      ResumeCase(optimizer: "adam", shuffle: true, step: 7, ensemble: "3"),
      ResumeCase(
        optimizer: "adam", shuffle: true, step: 7, ensemble: "{members: 3, kind: batch_ensemble}"),
      ResumeCase(
        optimizer: "sgd", shuffle: true, step: 1, ensemble: "{members: 2, kind: independent}"),
    ]
}

@Suite struct ResumeTests {
  @Test(arguments: ResumeCase.all)
  func resumedTrainingEqualsUninterrupted(_ c: ResumeCase) throws {
    let spec = try #require(
      checkSpec(
        """
        task: classification
        input: 2
        ensemble: \(c.ensemble)
        layers: [{units: 6, activation: tanh}, {units: 3, activation: softmax}]
        data: {generator: blobs, samples: 90}
        training: {epochs: 4, batch_size: 8, optimizer: \(c.optimizer), shuffle: \(c.shuffle), seed: 9}
        """
      ).spec)
    let straight = Trainer(spec)
    var losses: [Double] = []
    for epoch in 1...4 { losses.append(try straight.runEpoch(epoch)) }

    let first = Trainer(spec)
    _ = try first.runEpoch(1)
    var steps = 0
    var next = 2
    do {
      _ = try first.runEpoch(
        2, shouldStop: { c.step != nil && steps == c.step! }, progress: { steps = $0 })
      next = 3
    } catch {
      #expect(error == .interrupted(epoch: 2, step: c.step ?? -1))
    }
    let saved = try #require(Checkpoint.decode(first.checkpoint(nextEpoch: next).encode()))
    let second = Trainer(spec)
    second.restore(saved)
    var resumedLosses: [Double] = []
    for epoch in next...4 { resumedLosses.append(try second.runEpoch(epoch)) }
    #expect(second.executor.snapshot() == straight.executor.snapshot())
    #expect(resumedLosses == Array(losses[(next - 1)...]))
  }
}

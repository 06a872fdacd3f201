// A checkpoint: everything training needs to continue as if it had never stopped: the weights and
// optimizer state (with Adam's step count), the epoch in progress and the steps done in it with
// their summed loss, and the early-stopping record. The shuffles are not saved: they are a pure
// function of the seed and the epoch and are drawn again on resume. Stored as safetensors: the
// arena's parameters and state as one tensor, the rest as JSON metadata.

import Foundation

/// Where a run stands, to resume it.
public struct Checkpoint: Sendable, Equatable {
  /// The epoch in progress (1-based); `steps` of it are done (0: not started).
  public var epoch: Int
  public var steps: Int
  /// The loss summed over those steps (for the epoch's reported mean).
  public var epochLoss: Double
  public var state: Executor.Snapshot
  /// The early-stopping record so far.
  public var bestEpoch: Int? = nil
  public var bestValue: Double? = nil
  public var best: Executor.Snapshot? = nil
  /// The `plateau` schedule's record.
  public var plateau: LearningRateScheduler.PlateauState? = nil
  /// With `early_stopping.refit`, once the second training has begun: the epochs of the first,
  /// after which the second's are numbered (its epoch e is the run's epoch refitAfter + e, and
  /// `epoch` is the run's). `bestEpoch` is then the number of epochs it trains.
  public var refitAfter: Int? = nil

  public init(epoch: Int, steps: Int, epochLoss: Double, state: Executor.Snapshot) {
    (self.epoch, self.steps, self.epochLoss, self.state) = (epoch, steps, epochLoss, state)
  }

  /// The file name, ordered by position: `epoch-000012-step-000000.safetensors`.
  public var fileName: String {
    String(format: "epoch-%06d-step-%06d.safetensors", epoch, steps)
  }

  private struct Header: Codable {
    var epoch: Int
    var steps: Int
    var epochLoss: Double
    var optimizerStep: Int
    var bestEpoch: Int?
    var bestValue: Double?
    var bestStep: Int?
    var plateau: LearningRateScheduler.PlateauState?
    var refitAfter: Int?
  }

  public func encode() -> Data {
    var tensors = [NamedTensor(name: "state", shape: [state.values.count], values: state.values)]
    if let best {
      tensors.append(NamedTensor(name: "best", shape: [best.values.count], values: best.values))
    }
    let header = Header(
      epoch: epoch, steps: steps, epochLoss: epochLoss, optimizerStep: state.step,
      bestEpoch: bestEpoch, bestValue: bestValue, bestStep: best?.step,
      plateau: plateau, refitAfter: refitAfter)
    let json = String(decoding: (try? JSONEncoder().encode(header)) ?? Data(), as: UTF8.self)
    return Safetensors.encode(tensors, metadata: ["format": "mlpc-checkpoint-1", "mlpc": json])
  }

  public static func decode(_ data: Data) -> Checkpoint? {
    guard let (tensors, metadata) = Safetensors.decode(data),
      metadata["format"] == "mlpc-checkpoint-1",
      let header = metadata["mlpc"].flatMap({
        try? JSONDecoder().decode(Header.self, from: Data($0.utf8))
      }),
      let state = tensors.first(where: { $0.name == "state" })
    else { return nil }
    var c = Checkpoint(
      epoch: header.epoch, steps: header.steps, epochLoss: header.epochLoss,
      state: Executor.Snapshot(values: state.values, step: header.optimizerStep))
    (c.bestEpoch, c.bestValue) = (header.bestEpoch, header.bestValue)
    c.plateau = header.plateau
    c.refitAfter = header.refitAfter
    if let best = tensors.first(where: { $0.name == "best" }) {
      c.best = Executor.Snapshot(values: best.values, step: header.bestStep ?? 0)
    }
    return c
  }
}

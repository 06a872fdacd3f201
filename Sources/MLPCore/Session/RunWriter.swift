// Writes the files of a run into its staging directory (RunDirectory): metrics.jsonl as epochs
// finish, then the model, summary, checkpoints and curves. Every failure is a `SessionError`
// naming the file and the cause.

import Foundation

/// Why a run could not go on, in words for the user (and a hint, when there is one).
public struct SessionError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public var help: String?
  /// The spec did not pass its check; its diagnostics were reported already.
  public var invalidSpec = false

  public init(_ description: String, help: String? = nil) {
    (self.description, self.help) = (description, help)
  }

  static let checkFailed: SessionError = {
    var e = SessionError("the spec has errors")
    e.invalidSpec = true
    return e
  }()
}

/// The files of one run in its staging directory.
final class RunWriter {
  let run: RunDirectory
  private let metrics: FileHandle
  /// metrics.jsonl lines not written yet: written at most every 0.2 s (a write per epoch cost
  /// more than a W2 epoch's steps), and always before a checkpoint and when training ends.
  private var pending = Data()
  private var lastFlush = Date()

  init(_ run: RunDirectory) throws(SessionError) {
    self.run = run
    let path = run.file("metrics.jsonl")
    // Never through a link (the run was checked to hold none; this holds even if one appears).
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw SessionError(FileWriteError(path, errno: errno).description) }
    metrics = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
  }

  func append(_ report: EpochReport, now: Date) throws(SessionError) {
    pending.append(contentsOf: (report.metricsLine + "\n").utf8)
    if now.timeIntervalSince(lastFlush) >= 0.2 || pending.count >= 1 << 16 {
      try flushMetrics(now: now)
    }
  }

  /// Writes the pending metrics lines.
  func flushMetrics(now: Date = Date()) throws(SessionError) {
    lastFlush = now
    guard !pending.isEmpty else { return }
    do { try metrics.write(contentsOf: pending) } catch {
      throw SessionError(
        "cannot write '\(run.file("metrics.jsonl"))': \(causeInWords(error))"
          + " (the run is resumable from its last checkpoint)")
    }
    pending.removeAll(keepingCapacity: true)
  }

  /// Keeps the metrics lines of epochs before `epoch` (a resumed run writes the rest again);
  /// returns them.
  func truncateMetrics(before epoch: Int) throws(SessionError) -> [EpochReport] {
    let kept = EpochReport.lines(ofFile: run.file("metrics.jsonl")).filter { $0.epoch < epoch }
    do {
      try metrics.truncate(atOffset: 0)
      for line in kept { try metrics.write(contentsOf: Data((line.metricsLine + "\n").utf8)) }
    } catch {
      throw SessionError(
        "cannot write '\(run.file("metrics.jsonl"))': \(causeInWords(error))"
          + " (the run is resumable from its last checkpoint)")
    }
    return kept
  }

  func write(_ data: Data, _ name: String) throws(SessionError) {
    do { try AtomicFile.write(data, to: run.file(name)) } catch {
      throw SessionError(error.description)
    }
  }

  /// Writes a record as a JSON document.
  func write<T: Encodable>(record: T, _ name: String) throws(SessionError) {
    try write(Data((JSONRecord.document(record) + "\n").utf8), name)
  }

  /// Writes `checkpoint` into checkpoints/ and keeps the `keep` latest epoch checkpoints (and
  /// every one taken inside an epoch, which only an interruption writes).
  func checkpoint(_ checkpoint: Checkpoint, keep: Int) throws(SessionError) {
    try flushMetrics()
    let folder = run.file("checkpoints")
    if mkdir(folder, 0o755) != 0, errno != EEXIST {
      throw SessionError(FileWriteError(folder, errno: errno).description)
    }
    try write(checkpoint.encode(), "checkpoints/" + checkpoint.fileName)
    let boundaries = RunWriter.checkpoints(in: folder).filter {
      $0.hasSuffix("step-000000.safetensors")
    }
    for old in boundaries.dropLast(keep) {
      try? FileManager.default.removeItem(atPath: folder + "/" + old)
    }
  }

  /// Checkpoint file names in `folder`, oldest first.
  static func checkpoints(in folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
      .filter { $0.hasPrefix("epoch-") && $0.hasSuffix(".safetensors") }.sorted()
  }
}

/// Memory taken when training starts and given back just before the run is saved, so that the
/// copies saving makes (the checkpoint's state, the model's tensors, both encoded) find room even
/// when training used the rest of a tight limit (`ulimit -v`, a container's): a run that could
/// not save fails at the start, not after its epochs.
final class SaveReserve {
  private var block: UnsafeMutableRawPointer?

  init(for plan: ExecutionPlan) throws(SessionError) {
    let floats = plan.parameters.count * (3 + 2 * plan.optimizerState.count)
    let bytes = floats * 4 + (16 << 20)
    block = malloc(bytes)
    guard block != nil else {
      throw SessionError(
        "cannot reserve \(bytes) bytes to save the model at the end; raise the memory limit")
    }
  }

  func release() {
    free(block)
    block = nil
  }

  deinit { release() }
}

/// Runs a collective call of the ranks, turning its failure into a session error.
func collective<T>(_ body: () throws -> T) throws(SessionError) -> T {
  do { return try body() } catch let error as WorldError {
    throw SessionError(error.description)
  } catch {
    throw SessionError("\(error)")
  }
}

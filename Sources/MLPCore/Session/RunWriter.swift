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
  /// The epochs of `pending`, and who hears of them once they are written (MLflow tracking, so
  /// that it never holds an epoch metrics.jsonl does not).
  private var pendingReports: [(EpochReport, Date)] = []
  var written: (([(EpochReport, Date)]) -> Void)?
  /// The run's TensorBoard event file (nil with `training.tensorboard: false`), and its
  /// records not written yet (written with the metrics lines).
  private var events: (handle: FileHandle, name: String)?
  private var pendingEvents: [UInt8] = []
  private let epochEvents = EpochEventEncoder()
  /// The name of the event file, when the run writes one.
  var eventFileName: String? { events?.name }

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
    if written != nil { pendingReports.append((report, now)) }
    if events != nil {
      epochEvents.encode(report, wallTime: now.timeIntervalSince1970, into: &pendingEvents)
    }
    if now.timeIntervalSince(lastFlush) >= 0.2 || pending.count >= 1 << 16 {
      try flushMetrics(now: now)
    }
  }

  /// Writes the pending metrics lines.
  func flushMetrics(now: Date = Date()) throws(SessionError) {
    lastFlush = now
    if !pending.isEmpty {
      do { try metrics.write(contentsOf: pending) } catch {
        throw SessionError(
          "cannot write '\(run.file("metrics.jsonl"))': \(causeInWords(error))"
            + " (the run is resumable from its last checkpoint)")
      }
      pending.removeAll(keepingCapacity: true)
      if let written, !pendingReports.isEmpty {
        written(pendingReports)
        pendingReports.removeAll(keepingCapacity: true)
      }
    }
    if let events, !pendingEvents.isEmpty {
      do { try events.handle.write(contentsOf: pendingEvents) } catch {
        throw SessionError(
          "cannot write '\(run.file(events.name))': \(causeInWords(error))"
            + " (the run is resumable from its last checkpoint)")
      }
      pendingEvents.removeAll(keepingCapacity: true)
    }
  }

  /// Opens the run's TensorBoard event file. A new run's starts with the file version, the
  /// settings as text and the HParams session start; a resumed run's (`keepingBefore`: the
  /// first epoch it runs) keeps its first wall time and its epochs before that one, so the
  /// series continues without duplicates, and gets the settings as they are now.
  func openEvents(_ spec: CheckedSpec, keepingBefore first: Int?) throws(SessionError) {
    let now = Date().timeIntervalSince1970
    let existing = ((try? FileManager.default.contentsOfDirectory(atPath: run.staging)) ?? [])
      .filter { $0.hasPrefix("events.out.tfevents.") }.sorted()
    var name = existing.first
    var version = TensorBoardEvent.fileVersion(wallTime: now)
    var kept: [UInt8] = []
    if let old = name, let first,
      let bytes = try? RegularFile.contents(run.file(old), followingLinks: false, limit: 1 << 31)
        .get()
    {
      let header = [
        TensorBoardEvent.settingsTag, TensorBoardEvent.sessionStartTag,
        TensorBoardEvent.sessionEndTag,
      ]
      for record in TFRecord.records([UInt8](bytes)) {
        guard let event = TensorBoardEvent.inspect(record) else { continue }
        if event.fileVersion {
          version = TFRecord.frame(Array(record))
        } else if event.step >= 1, event.step < first, !event.tags.contains(where: header.contains)
        {
          kept += TFRecord.frame(Array(record))
        }
      }
    }
    if name == nil {
      let host = ProcessInfo.processInfo.hostName.filter { $0.isLetter || $0.isNumber || $0 == "-" }
      name = "events.out.tfevents.\(Int(now)).\(host.isEmpty ? "host" : host).mlpc"
    }
    guard let name else { return }
    let text = TensorBoardEvent.text(TensorBoardEvent.settingsTag, spec.resolvedText, wallTime: now)
    let start = TensorBoardEvent.sessionStart(
      TrackedSettings.of(spec), group: "", wallTime: now)
    try write(Data(version + text + start + kept), name)
    let path = run.file(name)
    let fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else { throw SessionError(FileWriteError(path, errno: errno).description) }
    events = (FileHandle(fileDescriptor: fd, closeOnDealloc: true), name)
  }

  /// Ends the HParams session of the event file (after `epoch`, with `status`).
  func endEvents(_ status: TensorBoardEvent.Status, epoch: Int) throws(SessionError) {
    guard events != nil else { return }
    pendingEvents += TensorBoardEvent.sessionEnd(
      status, step: epoch, wallTime: Date().timeIntervalSince1970)
    try flushMetrics()
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

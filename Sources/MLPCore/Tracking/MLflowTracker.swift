// The MLflow run of one mlpc run: created (or, on --resume, continued) before the first epoch,
// fed the epochs' metrics in batches from its own queue so training never waits for the server,
// and ended with the run's artifacts and status. Any failure is one warning, after which the run
// goes on untracked: tracking never stops or loses a run.

import Foundation

/// Where a run is tracked, under which parent run, and how warnings reach the user.
public struct TrackingOptions: Sendable {
  public var server: MLflowServer
  /// The sweep's MLflow run, for a run of a sweep.
  public var parentRunID: String?
  public var warn: @Sendable (String) -> Void

  public init(
    server: MLflowServer, parentRunID: String? = nil, warn: @escaping @Sendable (String) -> Void
  ) {
    (self.server, self.parentRunID, self.warn) = (server, parentRunID, warn)
  }
}

/// mlflow.json in a run directory: the MLflow run it is tracked as (no credential).
public struct MLflowRunRecord: Codable, Sendable {
  public var runID: String
  public var experimentID: String
  public var trackingURI: String

  enum CodingKeys: String, CodingKey {
    case runID = "run_id"
    case experimentID = "experiment_id"
    case trackingURI = "tracking_uri"
  }

  public static let fileName = "mlflow.json"
}

/// How a tracked run ended, as MLflow's run status.
public enum TrackedStatus: String, Sendable {
  case finished = "FINISHED"
  case failed = "FAILED"
  case killed = "KILLED"

  public init(_ ending: Ending) {
    switch ending {
    case .completed, .earlyStopped: self = .finished
    case .interrupted: self = .killed
    case .diverged: self = .failed
    }
  }
}

public final class MLflowTracker: @unchecked Sendable {
  let client: MLflowClient
  let warn: @Sendable (String) -> Void
  public let record: MLflowRunRecord
  let artifactURI: String
  private let queue = DispatchQueue(label: "mlpc.mlflow")
  private let lock = NSLock()
  private var pending: [MLflowMetric] = []
  private var scheduled = false
  private var failed = false
  /// Epochs up to this one are in the MLflow run already (a run killed outright logged epochs
  /// past its last checkpoint; the resumed run trains them again, to the same values).
  private var loggedThrough = 0

  private init(
    client: MLflowClient, warn: @escaping @Sendable (String) -> Void, record: MLflowRunRecord,
    artifactURI: String
  ) {
    (self.client, self.warn, self.record, self.artifactURI) = (client, warn, record, artifactURI)
  }

  /// Starts tracking: continues `existing` (a resumed run's record) when it is on this server
  /// and still there, else creates a run named `name` with the spec's settings as params and
  /// the run's tags. Nil (after a warning) when the server cannot be used.
  public static func start(
    _ options: TrackingOptions, spec: CheckedSpec, specPath: String, name: String,
    runDirectory: String?, existing: MLflowRunRecord?, params: [(String, String)]? = nil,
    extraTags: [(String, String)] = []
  ) -> MLflowTracker? {
    let client = MLflowClient(options.server)
    let fail = { (failure: TrackingFailure) -> MLflowTracker? in
      options.warn("\(failure.description); the run goes on without tracking")
      return nil
    }
    if let existing, existing.trackingURI == options.server.uri {
      switch client.getRun(existing.runID) {
      case .success(let run):
        if case .failure(let f) = client.updateRun(existing.runID, status: "RUNNING") {
          return fail(f)
        }
        let tracker = MLflowTracker(
          client: client, warn: options.warn, record: existing, artifactURI: run.artifactURI)
        tracker.loggedThrough = run.lastStep ?? 0
        return tracker
      case .failure(let f) where f.notFound:
        options.warn(
          "MLflow at \(options.server.uri) has no run \(existing.runID) any more; the resumed run is tracked as a new one"
        )
      case .failure(let f): return fail(f)
      }
    }
    let experiment: String
    switch client.experimentID(options.server.experiment) {
    case .success(let id): experiment = id
    case .failure(let f): return fail(f)
    }
    var tags = runTags(spec: spec, specPath: specPath, name: name, runDirectory: runDirectory)
    if let parent = options.parentRunID { tags.append(("mlflow.parentRunId", parent)) }
    tags += extraTags
    let created: (id: String, artifactURI: String)
    switch client.createRun(experiment: experiment, name: name, tags: tags) {
    case .success(let run): created = run
    case .failure(let f): return fail(f)
    }
    var seen = Set<String>()
    let settings =
      params ?? TrackedSettings.of(spec).map { ($0.key, MLflowNames.paramValue($0.value)) }
    let params = settings.compactMap { key, value -> (String, String)? in
      let k = MLflowNames.key(key)
      return seen.insert(k).inserted ? (k, String(value.prefix(6000))) : nil
    }
    if case .failure(let f) = client.logBatch(run: created.id, params: params) {
      return fail(f)
    }
    let record = MLflowRunRecord(
      runID: created.id, experimentID: experiment, trackingURI: options.server.uri)
    return MLflowTracker(
      client: client, warn: options.warn, record: record, artifactURI: created.artifactURI)
  }

  /// The tags of a new run: its name and source, mlpc's version, the CPU and ISA, the spec, the
  /// run directory, and the git commit of the spec's folder when it is in a repository.
  static func runTags(spec: CheckedSpec, specPath: String, name: String, runDirectory: String?)
    -> [(String, String)]
  {
    let specFile = canonicalPath(specPath)
    var tags: [(String, String)] = [
      ("mlflow.runName", name), ("mlflow.source.name", specFile),
      ("mlflow.source.type", "LOCAL"), ("mlpc.version", mlpcVersion),
      ("mlpc.cpu", CPUFeatures.model), ("mlpc.isa", CPUFeatures.isa), ("mlpc.spec", specFile),
    ]
    if let user = ProcessInfo.processInfo.environment["USER"], !user.isEmpty {
      tags.append(("mlflow.user", user))
    }
    if let runDirectory { tags.append(("mlpc.run_directory", canonicalPath(runDirectory))) }
    if let commit = gitCommit(of: PathText.parent(specFile)) {
      tags.append(("mlflow.source.git.commit", commit))
    }
    return tags.map { ($0.0, String($0.1.prefix(5000))) }
  }

  /// `git rev-parse HEAD` in `folder`, when git is there and the folder is in a repository.
  static func gitCommit(of folder: String) -> String? {
    let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(
      separator: ":")
    guard let git = paths.map({ "\($0)/git" }).first(where: FileManager.default.isExecutableFile)
    else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: git)
    process.arguments = ["-C", folder.isEmpty ? "." : folder, "rev-parse", "HEAD"]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return process.terminationStatus == 0 && text.count == 40 && text.allSatisfy(\.isHexDigit)
      ? text : nil
  }

  /// Queues the metrics of an epoch (sent in batches, on the tracker's queue).
  public func log(_ report: EpochReport, at time: Date = Date()) {
    guard report.epoch > loggedThrough else { return }
    let timestamp = Int(time.timeIntervalSince1970 * 1000)
    let metrics = TrackedMetrics.of(report).map {
      MLflowMetric(key: $0.tag, value: $0.value, timestamp: timestamp, step: report.epoch)
    }
    lock.lock()
    pending += metrics
    let schedule = !scheduled && !failed
    scheduled = true
    lock.unlock()
    if schedule { queue.async { self.sendPending() } }
  }

  private func sendPending() {
    lock.lock()
    let batch = pending
    pending.removeAll()
    scheduled = false
    let skip = failed
    lock.unlock()
    guard !skip, !batch.isEmpty else { return }
    if case .failure(let f) = client.logBatch(run: record.runID, metrics: batch) { stop(f) }
  }

  private func stop(_ failure: TrackingFailure) {
    lock.lock()
    let first = !failed
    failed = true
    pending.removeAll()
    lock.unlock()
    if first { warn("\(failure.description); the run goes on without tracking") }
  }

  private var hasFailed: Bool {
    lock.lock()
    defer { lock.unlock() }
    return failed
  }

  /// Sends what is queued, uploads the regular files of `directory` (the run, when it was
  /// written; checkpoints and hidden files are not artifacts), and sets the run's status.
  public func finish(_ status: TrackedStatus, directory: String?) {
    queue.sync {
      sendPending()
      if let directory {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
          .filter { !$0.hasPrefix(".") }.sorted()
        for name in names where !hasFailed {
          guard
            let data = try? RegularFile.contents(
              directory + "/" + name, followingLinks: false, limit: 1 << 31
            ).get()
          else { continue }
          if case .failure(let f) = client.uploadArtifact(
            artifactURI: artifactURI, name: name, data: data)
          {
            stop(f)
          }
        }
      }
      guard !hasFailed else { return }
      if case .failure(let f) = client.updateRun(record.runID, status: status.rawValue) { stop(f) }
    }
  }

  /// Uploads one more file of a tracked run (the ONNX export) to the run recorded in
  /// `directory`'s mlflow.json, when it is on `server`. Nil when the run is not tracked there.
  public static func upload(
    _ file: String, as name: String, toRunIn directory: String, options: TrackingOptions
  ) -> Bool? {
    guard
      let data = try? RegularFile.contents(
        directory + "/" + MLflowRunRecord.fileName, followingLinks: false, limit: 1 << 16
      ).get(),
      let record = JSONRecord.decode(MLflowRunRecord.self, from: data),
      record.trackingURI == options.server.uri
    else { return nil }
    let client = MLflowClient(options.server)
    let result = client.getRun(record.runID).flatMap { run in
      (try? RegularFile.contents(file, followingLinks: false, limit: 1 << 31).get()).map {
        client.uploadArtifact(artifactURI: run.artifactURI, name: name, data: $0)
      } ?? .failure(TrackingFailure(description: "cannot read '\(file)'"))
    }
    if case .failure(let f) = result {
      options.warn("\(f.description); '\(name)' is not uploaded")
      return false
    }
    return true
  }
}

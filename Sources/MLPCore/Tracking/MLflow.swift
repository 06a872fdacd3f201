// MLflow tracking over its REST API (/api/2.0/mlflow/…, artifacts through the server's proxy
// /api/2.0/mlflow-artifacts/…): where the server is and how to authenticate (`MLflowServer`,
// from --mlflow or MLFLOW_TRACKING_URI, credentials from MLflow's environment variables only),
// and the calls a run makes (`MLflowClient`). Every call is bounded: a timeout per attempt, at
// most three attempts for a connection failure or a 5xx/429 answer, none for another 4xx.
// Errors name the server by scheme, host and port only, never a credential.

import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// An MLflow tracking server reached over HTTP(S).
public struct MLflowServer: Sendable, Equatable {
  /// `scheme://host[:port][/path]`, without a trailing slash; never holds credentials.
  public let uri: String
  /// The experiment runs go into.
  public var experiment: String
  /// The Authorization header's value (from MLFLOW_TRACKING_TOKEN, or _USERNAME/_PASSWORD).
  let authorization: String?

  public static func == (a: MLflowServer, b: MLflowServer) -> Bool {
    a.uri == b.uri && a.experiment == b.experiment
  }

  /// The server `option` (--mlflow) or MLFLOW_TRACKING_URI names, in MLFLOW_EXPERIMENT_NAME or
  /// `defaultExperiment`; nil when neither names one. A URI mlpc cannot use is an error for the
  /// option; for the variable (which MLflow's own `file:` stores also use), a warning and nil.
  public static func resolve(
    option: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
    defaultExperiment: String
  ) -> (server: MLflowServer?, problem: String?, warning: String?) {
    let fromOption = option != nil
    guard let text = option ?? environment["MLFLOW_TRACKING_URI"].flatMap({ $0.isEmpty ? nil : $0 })
    else { return (nil, nil, nil) }
    let source = fromOption ? "--mlflow" : "MLFLOW_TRACKING_URI"
    func refuse(_ why: String) -> (MLflowServer?, String?, String?) {
      fromOption
        ? (nil, "\(source): \(why)", nil) : (nil, nil, "\(source): \(why); runs are not tracked")
    }
    guard let url = URL(string: text), let scheme = url.scheme?.lowercased(),
      scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
    else {
      return refuse(
        "mlpc tracks to an MLflow server over http:// or https://, not '\(safeText(Self.withoutCredentials(text), limit: 200))'"
      )
    }
    if url.user != nil || url.password != nil {
      return refuse(
        "the URI holds credentials; give them in MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) instead"
      )
    }
    var base = "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "") + url.path
    while base.hasSuffix("/") { base.removeLast() }
    var authorization: String?
    if let token = environment["MLFLOW_TRACKING_TOKEN"], !token.isEmpty {
      authorization = "Bearer " + token
    } else if let user = environment["MLFLOW_TRACKING_USERNAME"],
      let password = environment["MLFLOW_TRACKING_PASSWORD"]
    {
      authorization = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }
    let experiment = environment["MLFLOW_EXPERIMENT_NAME"].flatMap { $0.isEmpty ? nil : $0 }
    return (
      MLflowServer(
        uri: base, experiment: experiment ?? defaultExperiment, authorization: authorization),
      nil, nil
    )
  }

  /// `text` with any `user:password@` removed, for messages.
  static func withoutCredentials(_ text: String) -> String {
    guard let scheme = text.range(of: "://"),
      let at = text[scheme.upperBound...].firstIndex(of: "@")
    else { return text }
    let slash = text[scheme.upperBound...].firstIndex(of: "/") ?? text.endIndex
    return at < slash ? String(text[..<scheme.upperBound] + text[text.index(after: at)...]) : text
  }
}

/// Why a tracking call failed, in words (never with a credential).
public struct TrackingFailure: Error, CustomStringConvertible, Sendable {
  public var description: String
  /// The server answered that the thing asked for does not exist (404).
  public var notFound = false
}

/// The REST calls of a run.
public final class MLflowClient: @unchecked Sendable {
  public let server: MLflowServer
  private let session: URLSession
  /// Seconds per attempt, and attempts per call.
  let timeout: Double
  let attempts: Int

  public init(_ server: MLflowServer, timeout: Double = 10, attempts: Int = 3) {
    self.server = server
    (self.timeout, self.attempts) = (timeout, attempts)
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = timeout
    configuration.timeoutIntervalForResource = timeout
    configuration.httpCookieStorage = nil
    configuration.urlCache = nil
    session = URLSession(configuration: configuration)
  }

  private final class Reply: @unchecked Sendable {
    var data: Data?
    var status = 0
    var error: (any Error)?
  }

  /// One request, retried on a connection failure, a 5xx or a 429; the answer's JSON object.
  func call(_ method: String, _ path: String, json: [String: Any]? = nil, body: Data? = nil)
    -> Result<[String: Any], TrackingFailure>
  {
    let place = "MLflow at \(server.uri)"
    guard let url = URL(string: server.uri + path) else {
      return .failure(TrackingFailure(description: "\(place): cannot form a URL for \(path)"))
    }
    var request = URLRequest(url: url, timeoutInterval: timeout)
    request.httpMethod = method
    if let json {
      request.httpBody = try? JSONSerialization.data(withJSONObject: json)
      request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    } else if let body {
      request.httpBody = body
      request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
    }
    if let authorization = server.authorization {
      request.setValue(authorization, forHTTPHeaderField: "Authorization")
    }
    request.setValue("mlpc/\(mlpcVersion)", forHTTPHeaderField: "User-Agent")
    var last = TrackingFailure(description: "\(place): no answer")
    for attempt in 0..<attempts {
      if attempt > 0 { Thread.sleep(forTimeInterval: 0.5 * Double(attempt * attempt)) }
      let reply = Reply()
      let done = DispatchSemaphore(value: 0)
      session.dataTask(with: request) { data, response, error in
        reply.data = data
        reply.status = (response as? HTTPURLResponse)?.statusCode ?? 0
        reply.error = error
        done.signal()
      }.resume()
      done.wait()
      if let error = reply.error {
        last = TrackingFailure(
          description: "\(place): \(method) \(path.prefix(80)): \(error.localizedDescription)")
        continue
      }
      let object =
        reply.data.flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]
      if (200..<300).contains(reply.status) { return .success(object ?? [:]) }
      let message = [object?["error_code"] as? String, object?["message"] as? String]
        .compactMap { $0 }.joined(separator: ": ")
      last = TrackingFailure(
        description:
          "\(place): \(method) \(path.prefix(80)) answered \(reply.status)"
          + (message.isEmpty ? "" : " (\(safeText(message, limit: 300)))"),
        notFound: reply.status == 404)
      if reply.status < 500, reply.status != 429 { break }
    }
    return .failure(last)
  }

  /// The id of experiment `name`, created when it does not exist.
  public func experimentID(_ name: String) -> Result<String, TrackingFailure> {
    let query =
      name.addingPercentEncoding(
        withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~")))
      ?? name
    let path = "/api/2.0/mlflow/experiments/get-by-name?experiment_name=\(query)"
    switch call("GET", path) {
    case .success(let o):
      if let id = (o["experiment"] as? [String: Any])?["experiment_id"] as? String {
        return .success(id)
      }
      return .failure(TrackingFailure(description: "MLflow at \(server.uri): no experiment id"))
    case .failure(let f) where f.notFound:
      switch call("POST", "/api/2.0/mlflow/experiments/create", json: ["name": name]) {
      case .success(let o):
        if let id = o["experiment_id"] as? String { return .success(id) }
        return .failure(TrackingFailure(description: "MLflow at \(server.uri): no experiment id"))
      case .failure:
        // Created meanwhile by another run (a parallel sweep's).
        if case .success(let o) = call("GET", path),
          let id = (o["experiment"] as? [String: Any])?["experiment_id"] as? String
        {
          return .success(id)
        }
        return .failure(
          TrackingFailure(
            description: "MLflow at \(server.uri): cannot create experiment '\(name)'"))
      }
    case .failure(let f): return .failure(f)
    }
  }

  /// A new run: its id and artifact URI.
  public func createRun(experiment: String, name: String, tags: [(String, String)])
    -> Result<(id: String, artifactURI: String), TrackingFailure>
  {
    let body: [String: Any] = [
      "experiment_id": experiment, "run_name": name,
      "start_time": Int(Date().timeIntervalSince1970 * 1000),
      "tags": tags.map { ["key": $0.0, "value": $0.1] },
    ]
    return call("POST", "/api/2.0/mlflow/runs/create", json: body).flatMap { o in
      guard let info = (o["run"] as? [String: Any])?["info"] as? [String: Any],
        let id = info["run_id"] as? String
      else { return .failure(TrackingFailure(description: "MLflow at \(server.uri): no run id")) }
      return .success((id, info["artifact_uri"] as? String ?? ""))
    }
  }

  /// An existing run's status, artifact URI, and the step of its latest `metric`.
  public func getRun(_ id: String, metric: String = "train/loss") -> Result<
    (status: String, artifactURI: String, lastStep: Int?), TrackingFailure
  > {
    call("GET", "/api/2.0/mlflow/runs/get?run_id=\(id)").flatMap { o in
      guard let run = o["run"] as? [String: Any], let info = run["info"] as? [String: Any] else {
        return .failure(TrackingFailure(description: "MLflow at \(server.uri): no run \(id)"))
      }
      let metrics = ((run["data"] as? [String: Any])?["metrics"] as? [[String: Any]]) ?? []
      let step = metrics.first { $0["key"] as? String == metric }.flatMap {
        ($0["step"] as? Int) ?? ($0["step"] as? String).flatMap { Int($0) }
      }
      return .success(
        (info["status"] as? String ?? "", info["artifact_uri"] as? String ?? "", step))
    }
  }

  /// Metrics, params and tags, in requests within MLflow's limits (1000 metrics, 100 params,
  /// 100 tags, 1000 in all per request).
  public func logBatch(
    run: String, metrics: [MLflowMetric] = [], params: [(String, String)] = [],
    tags: [(String, String)] = []
  ) -> Result<Void, TrackingFailure> {
    var (m, p, t) = (metrics[...], params[...], tags[...])
    while !m.isEmpty || !p.isEmpty || !t.isEmpty {
      let ps = p.prefix(100)
      let ts = t.prefix(100)
      let ms = m.prefix(1000 - ps.count - ts.count)
      (m, p, t) = (m.dropFirst(ms.count), p.dropFirst(ps.count), t.dropFirst(ts.count))
      let body: [String: Any] = [
        "run_id": run,
        "metrics": ms.map {
          ["key": $0.key, "value": $0.value, "timestamp": $0.timestamp, "step": $0.step]
            as [String: Any]
        },
        "params": ps.map { ["key": $0.0, "value": $0.1] },
        "tags": ts.map { ["key": $0.0, "value": $0.1] },
      ]
      if case .failure(let f) = call("POST", "/api/2.0/mlflow/runs/log-batch", json: body) {
        return .failure(f)
      }
    }
    return .success(())
  }

  /// Sets a run's status (RUNNING, FINISHED, FAILED, KILLED), with its end time when it ended.
  public func updateRun(_ id: String, status: String) -> Result<Void, TrackingFailure> {
    var body: [String: Any] = ["run_id": id, "status": status]
    if status != "RUNNING" { body["end_time"] = Int(Date().timeIntervalSince1970 * 1000) }
    return call("POST", "/api/2.0/mlflow/runs/update", json: body).map { _ in () }
  }

  /// Uploads `data` as `name` (a path inside the run's artifacts) through the server's artifact
  /// proxy; only a run whose artifact URI is `mlflow-artifacts:` can be written this way.
  public func uploadArtifact(artifactURI: String, name: String, data: Data)
    -> Result<Void, TrackingFailure>
  {
    guard artifactURI.hasPrefix("mlflow-artifacts:") else {
      return .failure(
        TrackingFailure(
          description:
            "MLflow at \(server.uri): the run's artifacts go to '\(safeText(artifactURI, limit: 200))', which mlpc cannot write; start the server with artifacts served (mlflow server --serve-artifacts, the default)"
        ))
    }
    var root = String(artifactURI.dropFirst("mlflow-artifacts:".count))
    while root.hasPrefix("/") { root.removeFirst() }
    // A URI naming a host (mlflow-artifacts://host/path) keeps only its path.
    if artifactURI.hasPrefix("mlflow-artifacts://") {
      root = String(root.drop { $0 != "/" }.dropFirst())
    }
    let allowed = CharacterSet.alphanumerics.union(.init(charactersIn: "-._~"))
    let path = (root.split(separator: "/") + name.split(separator: "/")).map {
      $0.addingPercentEncoding(withAllowedCharacters: allowed) ?? String($0)
    }.joined(separator: "/")
    return call("PUT", "/api/2.0/mlflow-artifacts/artifacts/" + path, body: data).map { _ in () }
  }
}

/// One metric value of a run.
public struct MLflowMetric: Sendable {
  public var key: String
  public var value: Double
  /// Milliseconds since 1970.
  public var timestamp: Int
  public var step: Int
}

/// MLflow's rules for param, metric and tag keys: letters, digits, `_ - . /` and spaces, at most
/// 250 characters; param values at most 6000 characters.
public enum MLflowNames {
  public static func key(_ text: String) -> String {
    let mapped = String(
      text.map { c in
        c.isASCII && (c.isLetter || c.isNumber || "_-./ ".contains(c)) ? c : "_"
      })
    return String(mapped.prefix(250))
  }

  public static func paramValue(_ value: SettingValue) -> String {
    let text: String =
      switch value {
      case .string(let s): s
      case .int(let i): String(i)
      case .number(let d): d.description
      case .bool(let b): b ? "true" : "false"
      case .numbers(let xs): "[" + xs.map(\.description).joined(separator: ", ") + "]"
      case .null: "null"
      }
    return String(text.prefix(6000))
  }
}

// `GET /metrics`: Prometheus's text format, from swift-prometheus's registry. Requests by route
// (the route's template, never the raw path, so a client cannot grow the label set) and status,
// their latency, the rows of each forward pass, rows predicted per model, models loaded.

#if Serve
  import Prometheus
  import Synchronization

  /// The server's metrics.
  public final class ServeMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    static let latencyBuckets: [Duration] = [
      .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
      .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
      .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
      .milliseconds(500), .seconds(1), .seconds(5),
    ]
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096]

    private func descriptor(_ name: String, _ unit: String, _ help: String)
      -> MetricNameDescriptor
    {
      MetricNameDescriptor(namespace: "mlpc", metricName: name, unitName: unit, helpText: help)
    }

    /// The registry's metrics for what has been seen, found once: looking one up in the registry
    /// builds its name and takes the registry's lock, and this runs on every request.
    private struct Seen {
      struct Answer: Hashable {
        var route: String
        var status: Int
      }
      var requests: [Answer: Counter] = [:]
      var durations: [String: DurationHistogram] = [:]
      var models: [String: (rows: Counter, batches: ValueHistogram)] = [:]
    }
    private let seen = Mutex(Seen())

    public init(models: [String]) {
      registry.makeGauge(
        descriptor: descriptor("models", "loaded", "Models being served"), labels: []
      ).set(Double(models.count))
      for m in models {
        // Present from the start, so a scrape before the first request sees every model.
        _ = modelMetrics(m)
      }
    }

    /// The metric under `key` in `table`, made by `make` the first time.
    private func once<Key: Hashable, Metric: Sendable>(
      _ table: WritableKeyPath<Seen, [Key: Metric]>, _ key: Key, _ make: () -> Metric
    ) -> Metric {
      if let known = seen.withLock({ $0[keyPath: table][key] }) { return known }
      let made = make()  // the registry gives a second maker the same metric
      seen.withLock { $0[keyPath: table][key] = made }
      return made
    }

    private func modelMetrics(_ model: String) -> (rows: Counter, batches: ValueHistogram) {
      once(\.models, model) { (rows: rowsCounter(model), batches: batchHistogram(model)) }
    }

    private func rowsCounter(_ model: String) -> Counter {
      registry.makeCounter(
        descriptor: descriptor("rows", "predicted_total", "Rows predicted"),
        labels: [("model", model)])
    }

    private func batchHistogram(_ model: String) -> ValueHistogram {
      registry.makeValueHistogram(
        descriptor: descriptor("batch", "rows", "Rows per forward pass"),
        labels: [("model", model)], buckets: Self.batchBuckets)
    }

    /// One request answered.
    public func request(route: String, status: Int, duration: Duration) {
      once(\.requests, Seen.Answer(route: route, status: status)) {
        registry.makeCounter(
          descriptor: descriptor("http_requests", "total", "HTTP requests by route and status"),
          labels: [("route", route), ("status", String(status))])
      }.increment()
      once(\.durations, route) {
        registry.makeDurationHistogram(
          descriptor: descriptor(
            "http_request_duration", "seconds", "Time from request to response, by route"),
          labels: [("route", route)], buckets: Self.latencyBuckets)
      }.record(duration)
    }

    /// One forward pass of `rows` rows.
    public func batch(model: String, rows: Int) {
      let m = modelMetrics(model)
      m.batches.record(Double(rows))
      m.rows.increment(by: Int64(rows))
    }

    /// The text format.
    public func text() -> String { registry.emitToString() }
  }
#endif

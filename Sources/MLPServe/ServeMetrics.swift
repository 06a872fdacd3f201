// `GET /metrics`: Prometheus's text format, from swift-prometheus's registry. Requests by route
// (the route's template, never the raw path, so a client cannot grow the label set) and status,
// their latency, the rows of each forward pass, rows predicted per model, models loaded.

#if Serve
  import Prometheus

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

    public init(models: [String]) {
      registry.makeGauge(
        descriptor: descriptor("models", "loaded", "Models being served"), labels: []
      ).set(Double(models.count))
      for m in models {
        // Present from the start, so a scrape before the first request sees every model.
        _ = rowsCounter(m)
        _ = batchHistogram(m)
      }
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
      registry.makeCounter(
        descriptor: descriptor("http_requests", "total", "HTTP requests by route and status"),
        labels: [("route", route), ("status", String(status))]
      ).increment()
      registry.makeDurationHistogram(
        descriptor: descriptor(
          "http_request_duration", "seconds", "Time from request to response, by route"),
        labels: [("route", route)], buckets: Self.latencyBuckets
      ).record(duration)
    }

    /// One forward pass of `rows` rows.
    public func batch(model: String, rows: Int) {
      batchHistogram(model).record(Double(rows))
      rowsCounter(model).increment(by: Int64(rows))
    }

    /// The text format.
    public func text() -> String { registry.emitToString() }
  }
#endif

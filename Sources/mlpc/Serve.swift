// `mlpc serve MODEL_OR_RUN...`: trained models behind HTTP (the Serve trait; docs/serve.md).

#if Serve
  import ArgumentParser
  import Foundation
  import MLPCore
  import MLPServe
  import Synchronization

  /// Why the server stopped, when it failed.
  final class Failure: Sendable {
    let message = Mutex<String?>(nil)
  }

  /// The commands of the Serve trait.
  let serveCommands: [any ParsableCommand.Type] = [MLPCCommand.Serve.self]

  extension MLPCCommand {
    struct Serve: ParsableCommand {
      static let configuration = CommandConfiguration(
        abstract:
          "Serve trained models over HTTP (Open Inference Protocol v2, v1 records, MLflow).",
        discussion: """
          Each model is named by its spec's name, or by NAME in NAME=PATH. Routes: \
          /v2/models/NAME/infer, /v1/models/NAME:predict, /invocations, /v2/health/live, \
          /metrics, /openapi.json (docs/serve.md). SIGTERM or SIGINT stops accepting, lets the \
          requests in flight finish within --grace seconds, and exits 0.
          """)

      @Argument(help: "Models: a model.safetensors, a run directory holding one, or NAME=PATH.")
      var models: [String]

      @Option(help: "Address to listen on (loopback unless told otherwise).")
      var host = "127.0.0.1"

      @Option(help: "Port to listen on (0: any free port, printed on start).")
      var port = 8080

      @Option(help: "Seconds given to requests in flight after SIGTERM/SIGINT.")
      var grace = 10.0

      @Option(help: "Most rows in one forward pass (concurrent requests are batched together).")
      var maxBatch = 64

      @Option(
        name: .customLong("max-delay-us"),
        help: "Microseconds a request may wait for others to join its batch (0: none).")
      var maxDelayMicroseconds = 0

      @Option(help: "Most rows in one request (413 beyond).")
      var maxRows = 10_000

      @Option(help: "Most bytes in one request body (413 beyond).")
      var maxBody = 8 << 20

      @Option(help: "Seconds a connection may stay silent before it is closed.")
      var readTimeout = 30.0

      @Option(
        help: "A file holding a token every request must present as 'Authorization: Bearer TOKEN'.")
      var tokenFile: String?

      @Flag(help: "Listen on an address other than loopback without a token.")
      var allowUnauthenticated = false

      @Flag(help: "No access log.")
      var quiet = false

      func validate() throws {
        if models.isEmpty { throw ValidationError("name at least one model") }
        if !(0...65535).contains(port) {
          throw ValidationError("--port must be between 0 and 65535")
        }
        if !(grace >= 0 && grace <= 3600) {
          throw ValidationError("--grace must be between 0 and 3600 seconds")
        }
        if !(1...maximumWidth).contains(maxBatch) {
          throw ValidationError("--max-batch must be between 1 and \(maximumWidth)")
        }
        if !(0...1_000_000).contains(maxDelayMicroseconds) {
          throw ValidationError("--max-delay-us must be between 0 and 1000000")
        }
        if !(1...1_000_000).contains(maxRows) {
          throw ValidationError("--max-rows must be between 1 and 1000000")
        }
        if !(2...(1 << 30)).contains(maxBody) {
          throw ValidationError("--max-body must be between 2 and 1073741824 bytes")
        }
        if !(readTimeout >= 0.01 && readTimeout <= 3600) {
          throw ValidationError("--read-timeout must be between 0.01 and 3600 seconds")
        }
        let loopback = ["127.0.0.1", "localhost", "::1"]
        if !loopback.contains(host), tokenFile == nil, !allowUnauthenticated {
          throw ValidationError(
            "listening on '\(host)' lets other machines call the server: give --token-file (clients send 'Authorization: Bearer TOKEN'), or --allow-unauthenticated"
          )
        }
      }

      /// NAME=PATH, or PATH named by its model.
      static func nameAndPath(_ argument: String) -> (String?, String) {
        guard let eq = argument.firstIndex(of: "="),
          !FileManager.default.fileExists(atPath: argument)
        else { return (nil, argument) }
        return (String(argument[..<eq]), String(argument[argument.index(after: eq)...]))
      }

      static func isRoutable(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 128
          && name.unicodeScalars.allSatisfy {
            $0.properties.isAlphabetic || ("0"..."9").contains($0)
              || "._-".unicodeScalars.contains($0)
          } && name.unicodeScalars.allSatisfy(\.isASCII)
      }

      func run() throws {
        // Before any task starts (the server's handlers then run on the threads that read).
        let onLoops = runTasksOnEventLoops()
        var token: String?
        if let tokenFile {
          guard let data = FileManager.default.contents(atPath: tokenFile),
            let text = String(data: data, encoding: .utf8)
          else { throw CleanError("cannot read the token file '\(tokenFile)'") }
          let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
          guard t.count >= 16, !t.contains(where: \.isWhitespace) else {
            throw CleanError(
              "the token in '\(tokenFile)' must be at least 16 characters without spaces",
              help: "e.g. head -c 32 /dev/urandom | base64 > \(tokenFile)")
          }
          token = t
        }
        var loaded: [(String, String, Model)] = []
        for argument in models {
          let (given, path) = Self.nameAndPath(argument)
          let model: Model
          do { model = try Model.load(path) } catch { throw CleanError(error.description) }
          let name = given ?? model.description.name
          guard Self.isRoutable(name) else {
            throw CleanError(
              "the model name '\(safeText(name, limit: 80))' cannot be part of a URL path",
              help: "name it: NAME=\(path), NAME of letters, digits, '.', '_' or '-'")
          }
          if loaded.contains(where: { $0.0 == name }) {
            throw CleanError(
              "two models are named '\(name)'", help: "name them apart: NAME=PATH")
          }
          loaded.append((name, path, model))
        }
        var configuration = ServeConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.grace = grace
        configuration.maxBatch = maxBatch
        configuration.maxDelayMicroseconds = maxDelayMicroseconds
        configuration.maxRows = maxRows
        configuration.maxBody = maxBody
        configuration.readTimeout = readTimeout
        configuration.token = token
        configuration.accessLog = !quiet
        let metrics = ServeMetrics(models: loaded.map(\.0))
        let served = loaded.map { name, path, model in
          ServedModel(
            name: name, path: path, model: model, maxBatch: maxBatch,
            maxDelayMicroseconds: maxDelayMicroseconds,
            observe: { rows in metrics.batch(model: name, rows: rows) })
        }
        let state = ServeState(models: served, metrics: metrics, configuration: configuration)
        let host = host
        let names = loaded.map(\.0)
        let server = InferenceServer(state: state) { port in
          let base = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
          Console.err(
            (onLoops ? "" : "mlpc serve: tasks run on Swift's default executor\n")
              + "mlpc serve: listening on \(base) (port \(port)); models: \(names.joined(separator: ", "))\n"
              + "  try: curl \(base)/v2/models/\(names[0])\n")
        }
        let failure = Failure()
        let done = DispatchSemaphore(value: 0)
        _Concurrency.Task {
          do { try await server.run() } catch { failure.message.withLock { $0 = "\(error)" } }
          done.signal()
        }
        done.wait()
        if let message = failure.message.withLock({ $0 }) {
          throw CleanError("the server stopped: \(message)")
        }
        Console.err("mlpc serve: stopped\n")
      }
    }
  }
#else
  import ArgumentParser

  let serveCommands: [any ParsableCommand.Type] = []
#endif

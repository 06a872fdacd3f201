// `mlpc serve` as a real process over loopback: predictions over HTTP equal `mlpc predict` on the
// same rows for a classifier, a binary classifier of one sigmoid unit, a regression model and a
// raw table (categories, missing cells); a SIGTERM during a load loses no accepted request and
// exits 0; bad command lines are refused before anything listens.

#if Serve
  import Foundation
  import MLPCTestSupport
  import MLPCore
  import Synchronization
  import Testing

  /// A `mlpc serve` process, stopped by SIGTERM; its standard error goes to a file.
  final class ServeProcess: Sendable {
    let process: Process
    let port: Int
    let log: String

    init(_ arguments: [String], quiet: Bool = true) throws {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: CommandRunner.mlpc)
      process.arguments = ["serve", "--port", "0"] + (quiet ? ["--quiet"] : []) + arguments
      let log = Repository.temporaryDirectory() + "/serve.log"
      _ = FileManager.default.createFile(atPath: log, contents: nil)
      process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
      process.standardOutput = FileHandle.nullDevice
      try process.run()
      let deadline = Date().addingTimeInterval(60)
      var found: Int?
      var text = ""
      while found == nil, Date() < deadline {
        text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        if let range = text.range(of: "(port "),
          let end = text[range.upperBound...].firstIndex(of: ")")
        {
          found = Int(text[range.upperBound..<end])
        } else if !process.isRunning {
          break
        } else {
          Thread.sleep(forTimeInterval: 0.02)
        }
      }
      guard let found else {
        if process.isRunning { process.terminate() }
        throw HTTPClientError(description: "mlpc serve did not start: \(text)")
      }
      (self.process, self.port, self.log) = (process, found, log)
    }

    /// SIGTERM, then the exit status.
    func stop() -> Int32 {
      process.terminate()
      process.waitUntilExit()
      return process.terminationStatus
    }

    /// What the server wrote to standard error.
    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
  }

  @Suite(.serialized) struct ServeCommandTests {
    /// `mlpc predict --probabilities` of `csv` as rows of cells, with its header.
    func predicted(_ model: String, _ csv: String) throws -> [[String]] {
      let r = try CommandRunner.mlpc(["predict", model, csv, "--probabilities"])
      #expect(r.status == 0, "\(r.stderr)")
      return r.stdout.split(separator: "\n").map {
        $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      }
    }

    /// The CSV's rows as v1 instances (records by column name); cells that are numbers stay
    /// numbers, empty or NA cells are null, the rest strings.
    func instances(_ csv: String, features: [String]) throws -> String {
      let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
      let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      let records = lines.dropFirst().map { line in
        let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let members = features.map { f -> String in
          let cell = cells[header.firstIndex(of: f)!]
          let value =
            cell.isEmpty || cell == "NA"
            ? "null" : Double(cell) != nil ? cell : "\"\(cell)\""
          return "\"\(f)\":\(value)"
        }
        return "{" + members.joined(separator: ",") + "}"
      }
      return "[" + records.joined(separator: ",") + "]"
    }

    /// Whether HTTP's answers equal `mlpc predict`'s rows: class and every probability as the
    /// same Float, or the same target values.
    func compare(_ reply: HTTPReply, _ rows: [[String]], classes: [String]?) {
      let predictions = reply.json["predictions"] as? [Any] ?? []
      #expect(predictions.count == rows.count - 1, "\(reply.body.prefix(300))")
      for (i, p) in predictions.enumerated() where i + 1 < rows.count {
        let row = rows[i + 1]
        if let classes {
          let object = p as? [String: Any] ?? [:]
          #expect(object["class"] as? String == row[0], "row \(i)")
          let probabilities = object["probabilities"] as? [String: Double] ?? [:]
          for (c, name) in classes.enumerated() {
            #expect(
              Float(probabilities[name] ?? -1) == Float(row[1 + c]),
              "row \(i) class \(name): \(probabilities[name] ?? -1) vs \(row[1 + c])")
          }
        } else {
          #expect(Float(p as? Double ?? .nan) == Float(row[0]), "row \(i): \(p) vs \(row[0])")
        }
      }
    }

    @Test func predictionsOverHTTPEqualMlpcPredict() throws {
      let dir = Repository.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      // A binary table for one sigmoid unit.
      var csv = "a,b,label\n"
      for i in 0..<80 {
        let (a, b) = (sin(Double(i)) * 2, cos(Double(i) * 1.3) * 2)
        csv += "\(a),\(b),\(a + b > 0.3 ? "yes" : "no")\n"
      }
      try csv.write(toFile: dir + "/bin.csv", atomically: true, encoding: .utf8)
      try """
      name: binary
      task: classification
      input: 2
      layers: [{units: 6, activation: tanh}, {units: 1, activation: sigmoid}]
      loss: binary_cross_entropy
      data: {train: bin.csv, target: label, standardize: true}
      training: {epochs: 30, optimizer: adam, learning_rate: 0.05, batch_size: 16}
      """.write(toFile: dir + "/bin.yaml", atomically: true, encoding: .utf8)
      let trainings: [(String, [String])] = [
        ("iris", [Repository.path("specs/iris.yaml"), "--epochs", "20"]),
        ("diabetes", [Repository.path("specs/diabetes.yaml"), "--epochs", "20"]),
        ("penguins", [Repository.path("specs/penguins.yaml"), "--epochs", "10"]),
        ("binary", [dir + "/bin.yaml"]),
      ]
      for (name, arguments) in trainings {
        let r = try CommandRunner.mlpc(
          ["run"] + arguments + ["--quiet", "--out", dir + "/" + name])
        #expect(r.status == 0, "\(name): \(r.stderr)")
      }
      let server = try ServeProcess(trainings.map { dir + "/" + $0.0 })
      let cases: [(String, String)] = [
        ("iris", Repository.path("specs/data/iris-test.csv")),
        ("diabetes", Repository.path("specs/data/diabetes-test.csv")),
        ("penguins", Repository.path("specs/data/penguins.csv")),
        ("binary", dir + "/bin.csv"),
      ]
      for (name, data) in cases {
        let model = try Model.load(dir + "/" + name)
        let classes = model.network.task == .classification ? model.description.classes : nil
        let rows = try predicted(dir + "/" + name, data)
        let body =
          #"{"instances":\#(try instances(data, features: model.description.features))\#(classes == nil ? "" : #","probabilities":true"#)}"#
        let reply = try HTTPClient.requestBlocking(
          port: server.port, "POST", "/v1/models/\(name):predict", body: body)
        #expect(reply.status == 200, "\(name): \(reply.body.prefix(400))")
        compare(reply, rows, classes: classes)
        // MLflow's format gives the same classes or values.
        let mlflow = try HTTPClient.requestBlocking(
          port: server.port, "POST", "/invocations?model=\(name)",
          body:
            #"{"dataframe_records":\#(try instances(data, features: model.description.features))}"#)
        let values = mlflow.json["predictions"] as? [Any] ?? []
        #expect(values.count == rows.count - 1, "\(name): \(mlflow.body.prefix(300))")
        for (i, v) in values.enumerated() where i + 1 < rows.count {
          if classes != nil {
            #expect(v as? String == rows[i + 1][0])
          } else {
            #expect(Float(v as? Double ?? .nan) == Float(rows[i + 1][0]))
          }
        }
      }
      // Rows as the raw table holds them (its target and the ignored 'year' too) read the
      // same; a name the table never had is still refused, with the nearest feature.
      let penguins = Repository.path("specs/data/penguins.csv")
      let header = try String(contentsOfFile: penguins, encoding: .utf8)
        .prefix { $0 != "\n" }.split(separator: ",").map(String.init)
      let whole = try HTTPClient.requestBlocking(
        port: server.port, "POST", "/v1/models/penguins:predict",
        body: #"{"instances":\#(try instances(penguins, features: header)),"probabilities":true}"#)
      #expect(whole.status == 200, "\(whole.body.prefix(400))")
      compare(
        whole, try predicted(dir + "/penguins", penguins),
        classes: try Model.load(dir + "/penguins").description.classes)
      let split = try HTTPClient.requestBlocking(
        port: server.port, "POST", "/invocations?model=penguins",
        body:
          #"{"dataframe_split":{"columns":["species","year","island","bill_length_mm","bill_depth_mm","flipper_length_mm","body_mass_g","sex"],"data":[["Adelie",2007,"Torgersen",39.1,18.7,181.0,3750.0,"male"]]}}"#
      )
      #expect(split.status == 200, "\(split.body)")
      #expect(split.json["predictions"] as? [String] == ["Adelie"], "\(split.body)")
      let misspelt = try HTTPClient.requestBlocking(
        port: server.port, "POST", "/v1/models/penguins:predict",
        body:
          #"{"instances":[{"island":"Dream","bill_lenght_mm":39,"bill_depth_mm":18,"flipper_length_mm":181,"body_mass_g":3750,"sex":"male"}]}"#
      )
      #expect(misspelt.status == 400, "\(misspelt.body)")
      #expect(
        misspelt.body.contains("unknown feature 'bill_lenght_mm'")
          && misspelt.body.contains("did you mean 'bill_length_mm'?"), "\(misspelt.body)")
      // The raw table's metadata lists one tensor per column, BYTES for categories.
      let meta = try HTTPClient.requestBlocking(port: server.port, "GET", "/v2/models/penguins")
      let inputs = meta.json["inputs"] as? [[String: Any]] ?? []
      #expect(inputs.first { $0["name"] as? String == "island" }?["datatype"] as? String == "BYTES")
      #expect(server.stop() == 0)
    }

    @Test func aSIGTERMDuringALoadLosesNoAcceptedRequest() throws {
      let dir = Repository.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try CommandRunner.mlpc([
        "run", Repository.path("specs/iris.yaml"), "--epochs", "2", "--quiet", "--out",
        dir + "/iris",
      ])
      #expect(r.status == 0, "\(r.stderr)")
      // Requests wait up to 50 ms to be batched, so some are always in flight.
      let server = try ServeProcess(
        [dir + "/iris", "--max-delay-us", "50000", "--grace", "10"], quiet: false)
      let port = server.port
      let outcomes = Mutex<[String]>([])
      let body =
        #"{"instances":[{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}]}"#
      let group = DispatchGroup()
      for _ in 0..<8 {
        let thread = Thread {
          // Each client sends requests until the server stops accepting them.
          while true {
            let fd: Int32
            do { fd = try HTTPClient.connect(port: port, timeout: 20) } catch {
              outcomes.withLock { $0.append("refused") }
              break
            }
            HTTPClient.send(
              fd, HTTPClient.requestBytes("POST", "/v1/models/iris:predict", body: body))
            let reply = try? HTTPClient.parse(HTTPClient.receiveAll(fd, untilComplete: true))
            close(fd)
            outcomes.withLock { $0.append(reply.map { "\($0.status)" } ?? "lost") }
            if reply == nil { break }
          }
          group.leave()
        }
        group.enter()
        thread.start()
      }
      Thread.sleep(forTimeInterval: 0.5)
      let status = server.stop()
      #expect(group.wait(timeout: .now() + 30) == .success)
      let all = outcomes.withLock { $0 }
      #expect(status == 0)
      #expect(all.filter { $0 == "200" }.count >= 8, "\(all)")
      // Every request the server read (one access-log line each) was answered, with 200: a
      // client's last attempt may find the listener closed (refused), or reach the kernel's
      // backlog just as the listener closes (reset before the server read a byte of it).
      let logged = server.logText.components(separatedBy: "\n").filter { $0.contains("route=") }
      #expect(logged.allSatisfy { $0.contains("status=200") })
      #expect(logged.count == all.filter { $0 == "200" }.count, "\(logged.count) logged, \(all)")
      #expect(all.allSatisfy { $0 == "200" || $0 == "refused" || $0 == "lost" }, "\(all)")
      #expect(server.logText.contains("mlpc serve: stopped"))
    }

    @Test func badCommandLinesAreRefusedBeforeListening() throws {
      let r1 = try CommandRunner.mlpc(["serve", "/nonexistent/model", "--port", "0"])
      #expect(r1.status == 1 && r1.stderr.contains("/nonexistent/model"), "\(r1.stderr)")
      let r2 = try CommandRunner.mlpc(["serve", "x", "--host", "0.0.0.0", "--port", "0"])
      #expect(r2.status == 2 && r2.stderr.contains("--token-file"), "\(r2.stderr)")
      let r3 = try CommandRunner.mlpc(["serve", "x", "--max-rows", "0"])
      #expect(r3.status == 2 && r3.stderr.contains("--max-rows"), "\(r3.stderr)")
      let dir = Repository.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      try ModelBytes().data.write(to: URL(fileURLWithPath: dir + "/m.safetensors"))
      let r4 = try CommandRunner.mlpc([
        "serve", dir + "/m.safetensors", "b/c=" + dir + "/m.safetensors", "--port", "0",
      ])
      #expect(r4.status == 1 && r4.stderr.contains("cannot be part of a URL path"), "\(r4.stderr)")
      let r5 = try CommandRunner.mlpc([
        "serve", dir + "/m.safetensors", dir + "/m.safetensors", "--port", "0",
      ])
      #expect(r5.status == 1 && r5.stderr.contains("two models are named 'm'"), "\(r5.stderr)")
      try "short".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
      let r6 = try CommandRunner.mlpc([
        "serve", dir + "/m.safetensors", "--token-file", dir + "/token", "--port", "0",
      ])
      #expect(r6.status == 1 && r6.stderr.contains("at least 16 characters"), "\(r6.stderr)")
      // A port already taken is a clear error, not a crash.
      let first = try ServeProcess([dir + "/m.safetensors"])
      let r7 = try CommandRunner.mlpc([
        "serve", dir + "/m.safetensors", "--port", "\(first.port)",
      ])
      #expect(r7.status == 1 && r7.stderr.contains("the server stopped"), "\(r7.stderr)")
      #expect(first.stop() == 0)
    }
  }
#endif

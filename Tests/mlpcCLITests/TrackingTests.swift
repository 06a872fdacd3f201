// MLflow tracking without a server to reach: training completes and warns, no credential is
// written or printed anywhere, and unusable URIs are refused (--mlflow) or ignored with a
// warning (MLFLOW_TRACKING_URI). scripts/mlflow_check.sh runs the real server in CI.

import Foundation
import MLPCTestSupport
import Testing

@testable import MLPCore

/// A loopback port nothing listens on.
private func closedPort() throws -> Int {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  defer { close(fd) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  _ = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      bind(fd, $0, length) == 0 ? getsockname(fd, $0, &length) : -1
    }
  }
  return Int(UInt16(bigEndian: address.sin_port))
}

@Suite struct TrackingTests {
  @Test func aServerThatIsDownWarnsAndTrainingCompletes() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let secret = "s3cret-token-\(UInt32.random(in: 0...UInt32.max))"
    let result = try CommandRunner.mlpc(
      ["run", "specs/xor.yaml", "--quiet", "--out", dir + "/run"],
      environment: [
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:\(try closedPort())",
        "MLFLOW_TRACKING_TOKEN": secret, "MLFLOW_TRACKING_PASSWORD": secret + "p",
        "MLFLOW_TRACKING_USERNAME": "u",
      ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("warning: MLflow at http://127.0.0.1:"), "\(result.stderr)")
    #expect(result.stderr.contains("the run goes on without tracking"))
    #expect(FileManager.default.fileExists(atPath: dir + "/run/model.safetensors"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/run/mlflow.json"))
    #expect(!(result.stdout + result.stderr).contains(secret))
    let files = FileManager.default.enumerator(atPath: dir + "/run")?.allObjects as? [String] ?? []
    for file in files {
      let data = FileManager.default.contents(atPath: dir + "/run/" + file) ?? Data()
      #expect(data.range(of: Data(secret.utf8)) == nil, "\(file) holds the token")
    }
  }

  @Test func unusableURIsAreRefusedOrIgnored() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let file = try CommandRunner.mlpc([
      "run", "specs/xor.yaml", "--quiet", "--out", dir + "/a", "--mlflow", "file:./mlruns",
    ])
    #expect(file.status == 1)
    #expect(file.stderr.contains("--mlflow: mlpc tracks to an MLflow server over http"))
    let credentials = try CommandRunner.mlpc([
      "run", "specs/xor.yaml", "--quiet", "--out", dir + "/b", "--mlflow",
      "https://me:hunter2@mlflow.example",
    ])
    #expect(credentials.status == 1)
    #expect(credentials.stderr.contains("MLFLOW_TRACKING_USERNAME"))
    #expect(!credentials.stderr.contains("hunter2"))
    // MLflow's own file store in the variable: the run is not tracked, and says so.
    let variable = try CommandRunner.mlpc(
      ["run", "specs/xor.yaml", "--quiet", "--out", dir + "/c"],
      environment: ["MLFLOW_TRACKING_URI": "file:///tmp/mlruns"])
    #expect(variable.status == 0, "\(variable.stderr)")
    #expect(variable.stderr.contains("MLFLOW_TRACKING_URI:"))
    #expect(variable.stderr.contains("runs are not tracked"))
  }

  @Test func serversResolveFromTheEnvironment() {
    let env = [
      "MLFLOW_TRACKING_URI": "http://host:5000/prefix/", "MLFLOW_EXPERIMENT_NAME": "exp",
      "MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_PASSWORD": "p",
    ]
    let r = MLflowServer.resolve(option: nil, environment: env, defaultExperiment: "spec")
    #expect(r.server?.uri == "http://host:5000/prefix")
    #expect(r.server?.experiment == "exp")
    let none = MLflowServer.resolve(option: nil, environment: [:], defaultExperiment: "spec")
    #expect(none.server == nil && none.problem == nil && none.warning == nil)
    let option = MLflowServer.resolve(
      option: "https://h", environment: env, defaultExperiment: "spec")
    #expect(option.server?.uri == "https://h")
    #expect(MLflowServer.withoutCredentials("https://a:b@h/x") == "https://h/x")
  }

  @Test func keysFollowMLflowsRules() {
    #expect(MLflowNames.key("data.features.bill length (mm)") == "data.features.bill length _mm_")
    #expect(MLflowNames.key("données") == "donn_es")
    #expect(MLflowNames.key(String(repeating: "a", count: 300)).count == 250)
    #expect(MLflowNames.paramValue(.bool(true)) == "true")
    #expect(MLflowNames.paramValue(.numbers([1, 2.5])) == "[1.0, 2.5]")
    #expect(MLflowNames.paramValue(.string(String(repeating: "x", count: 7000))).count == 6000)
  }
}

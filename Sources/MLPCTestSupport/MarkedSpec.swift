// Spec text with location markers, as swift-format's tests mark findings: `↓` stands just before
// the character a diagnostic must point at. The markers are removed and their line:col kept.

import Foundation
import MLPCore

/// Spec text with `↓` markers turned into expected locations.
public struct MarkedSpec {
  /// The text without markers.
  public let text: String
  /// Where each marker stood, in order, as 1-based line and column.
  public let markers: [(line: Int, column: Int)]

  public init(_ marked: String) {
    var text = ""
    var markers: [(Int, Int)] = []
    var line = 1
    var column = 1
    for scalar in marked.unicodeScalars {
      if scalar == "↓" {
        markers.append((line, column))
        continue
      }
      text.unicodeScalars.append(scalar)
      if scalar == "\n" {
        line += 1
        column = 1
      } else {
        column += 1
      }
    }
    self.text = text
    self.markers = markers
  }
}

/// Paths inside the repository, found from this source file's location.
public enum Repository {
  public static let root: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
  }()

  public static func path(_ relative: String) -> String { root + "/" + relative }

  /// Spec files directly in `folder` (relative to the root), sorted.
  public static func specs(in folder: String) -> [String] {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: path(folder))) ?? []
    return files.filter { $0.hasSuffix(".yaml") }.sorted().map { "\(folder)/\($0)" }
  }

  /// A fresh temporary directory, inside one folder for the whole test process that is removed
  /// when the process exits (so a test that does not remove its own leaves nothing behind).
  public static func temporaryDirectory() -> String {
    let dir = testFolder + "/" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  /// This process's folder of temporary directories, created (and its removal at exit
  /// registered) on first use.
  static let testFolder: String = {
    let folder = NSTemporaryDirectory() + "mlpc-test-\(getpid())-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: Repository.testFolder) }
    return folder
  }()
}

/// Checks spec text as if it were stored in `specs/` (so `data/...` paths resolve).
public func checkSpec(_ text: String, name: String = "test.yaml") -> CheckResult {
  Checker.check(text: text, file: Repository.path("specs/\(name)"))
}

/// A valid spec whose learning rate sends the loss to infinity on the second step of epoch 1.
public let divergingSpec = """
  task: regression
  input: 1
  layers: [{units: 8, activation: relu}, {units: 1}]
  data: {generator: sine, samples: 64}
  training: {batch_size: 8, learning_rate: 1e30}
  """

// The key table is the one source of spec keys: docs/spec.md must show exactly its tables, the
// parser must accept exactly its keys, and every range it declares must be enforced.

import Foundation
import MLPCTestSupport
import Testing

@testable import MLPCore

@Suite struct SpecKeyTableTests {
  @Test func docsShowTheGeneratedTables() throws {
    let docs = try String(contentsOfFile: Repository.path("docs/spec.md"), encoding: .utf8)
    for block in SpecSchema.markdown.components(separatedBy: "\n\n") {
      let marker = String(block.prefix { $0 != "\n" })
      #expect(
        docs.contains(block.trimmingCharacters(in: .newlines) + "\n"),
        "docs/spec.md differs from the key table after \(marker); regenerate it with `mlpc schema --format markdown`"
      )
    }
  }

  @Test func keyNamesAreUniquePerSection() {
    for section in SpecSection.allCases {
      let names = SpecKeys.keys(in: section).map(\.name)
      #expect(Set(names).count == names.count, "\(section)")
    }
  }

  /// A value just outside each declared bound is refused with the key's code at the key's path.
  @Test(arguments: SpecKeys.all.filter { $0.bounds != nil })
  func boundsAreEnforced(_ key: KeyInfo) throws {
    let b = try #require(key.bounds)
    let isInteger = key.kind == .integer || key.kind == .ensemble  // an ensemble's size
    var outside: [Double] = []
    if let m = b.minimum { outside.append(b.exclusiveMinimum ? m : m - (isInteger ? 1 : 0.5)) }
    if let m = b.maximum { outside.append(b.exclusiveMaximum ? m : m + (isInteger ? 1 : 0.5)) }
    for x in outside {
      let text = isInteger ? String(Int(x)) : "\(x)"
      let result = checkSpec(spec(setting: key, to: text))
      let path = key.section.prefix(index: 0) + key.name
      #expect(
        result.diagnostics.contains {
          $0.code.rawValue == key.rangeCode.rawValue && $0.message.hasPrefix("'\(path)' must be")
        }, "\(path) = \(text): \(result.diagnostics)")
    }
  }

  @Test func featuresTakesOneName() throws {
    let result = checkSpec(
      """
      task: regression
      input: 1
      layers: [{units: 2}]
      data: {train: ../Tests/Fixtures/two-targets.csv, target: [y1, y2], features: a}
      """)
    #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
    #expect(result.spec?.data.featureNames == ["a"])
  }

  /// A small valid spec with `key` set to `value`.
  private func spec(setting key: KeyInfo, to value: String) -> String {
    var sections: [SpecSection: [(String, String)]] = [
      .top: [("task", "classification"), ("input", "2")],
      .layer: [("units", "2"), ("activation", "softmax")],
      .data: [("generator", "blobs"), ("classes", "2")],
      .training: [("epochs", "1")],
      .checkpoint: [("every", "1")],
      .earlyStopping: [("patience", "3")],
      .schedule: [("type", "plateau")],
    ]
    sections[key.section] = sections[key.section]!.filter { $0.0 != key.name } + [(key.name, value)]
    let flow = { (s: SpecSection) in
      "{" + sections[s]!.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}"
    }
    let training =
      String(flow(.training).dropLast())
      + ", checkpoint: \(flow(.checkpoint)), early_stopping: \(flow(.earlyStopping))"
      + ", schedule: \(flow(.schedule))}"
    return sections[.top]!.map { "\($0.0): \($0.1)\n" }.joined()
      + "layers: [\(flow(.layer))]\ndata: \(flow(.data))\ntraining: \(training)\n"
  }
}

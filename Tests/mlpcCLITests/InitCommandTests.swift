// `mlpc init`: a first spec for a raw table that checks and trains as written: the task from the
// target, each column's inferred treatment (identifiers and constants ignored), the data path
// relative to the spec; clear errors for a misspelt target, and no spec replaced.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct InitCommandTests {
  static func table(_ dir: String) throws {
    var csv = "id,colour,size,constant,price,label\n"
    for i in 0..<80 {
      let size = i % 13 == 0 ? "NA" : "\(Double(i % 6) / 2)"
      csv += "r\(i),\(["red", "blue", "green"][i % 3]),\(size),7,\(Double(i) * 1.5 + 0.25),"
      csv += (i % 3 == 0 ? "yes" : "no") + "\n"
    }
    try FileManager.default.createDirectory(
      atPath: dir + "/data", withIntermediateDirectories: true)
    try csv.write(toFile: dir + "/data/t.csv", atomically: true, encoding: .utf8)
  }

  @Test func aFirstSpecChecksAndTrains() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Self.table(dir)
    let written = try CommandRunner.mlpc([
      "init", dir + "/data/t.csv", "--target", "label", "--out", dir + "/s.yaml",
    ])
    #expect(written.status == 0, "\(written.stderr)")
    let text = try String(contentsOfFile: dir + "/s.yaml", encoding: .utf8)
    #expect(text.contains("task: classification"))
    #expect(text.contains("  train: data/t.csv\n"), "\(text)")
    #expect(text.contains("    id: ignore  # a different value in every row: an identifier"))
    #expect(text.contains("    constant: ignore  # one value in every row"))
    #expect(text.contains("    colour: {type: categorical}  # 3 levels"))
    #expect(text.contains("    size: {type: numeric, missing: median}  # numbers, 7 missing"))
    #expect(text.contains("{units: 2, activation: softmax}  # 2 classes"))
    #expect(text.contains("  optimizer: adamw\n  learning_rate: 0.002\n  weight_decay: 0.1"))
    #expect(text.contains("\nensemble: 8  # TabM-mini"))
    let checked = try CommandRunner.mlpc(["check", "--strict", dir + "/s.yaml"])
    #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
    let run = try CommandRunner.mlpc([
      "run", dir + "/s.yaml", "--epochs", "3", "--quiet", "--out", dir + "/run",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    // A spec is never replaced.
    let again = try CommandRunner.mlpc([
      "init", dir + "/data/t.csv", "--target", "label", "--out", dir + "/s.yaml",
    ])
    #expect(again.status == 2 && again.stderr.contains("exists"))
  }

  @Test func theTaskFollowsTheTarget() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Self.table(dir)
    let regression = try CommandRunner.mlpc(["init", dir + "/data/t.csv", "--target", "price"])
    #expect(regression.status == 0, "\(regression.stderr)")
    #expect(regression.stdout.contains("task: regression"))
    #expect(regression.stdout.contains("{units: 1, activation: identity}"))
    let forced = try CommandRunner.mlpc([
      "init", dir + "/data/t.csv", "--target", "price", "--task", "classification",
    ])
    #expect(forced.stdout.contains("task: classification"))
    let misspelt = try CommandRunner.mlpc(["init", dir + "/data/t.csv", "--target", "labl"])
    #expect(misspelt.status == 1)
    #expect(misspelt.stderr.contains("did you mean 'label'?"), "\(misspelt.stderr)")
  }

  @Test func aNumericRowNumberIsIgnoredAndManyLevelsAreEmbedded() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // `row` counts up (an identifier that parses as numbers); `city` has 60 levels; `count` is
    // whole numbers that repeat, which stays a feature.
    var csv = "row,city,count,label\n"
    for i in 0..<240 { csv += "\(i + 1),city\(i % 60),\(i % 7),\(i % 60 < 30 ? "a" : "b")\n" }
    try csv.write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
    let written = try CommandRunner.mlpc([
      "init", dir + "/t.csv", "--target", "label", "--out", dir + "/s.yaml",
    ])
    #expect(written.status == 0, "\(written.stderr)")
    let text = try String(contentsOfFile: dir + "/s.yaml", encoding: .utf8)
    #expect(text.contains("    row: ignore  # a different value in every row: an identifier"))
    #expect(
      text.contains("    city: {type: categorical, encoding: embedding, max_categories: 1000}"),
      "\(text)")
    #expect(text.contains("    count: {type: numeric, missing: median}"))
    let checked = try CommandRunner.mlpc(["check", "--strict", dir + "/s.yaml"])
    #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
    let run = try CommandRunner.mlpc([
      "run", dir + "/s.yaml", "--epochs", "3", "--quiet", "--out", dir + "/run",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    // Without a features mapping, the checker infers the same and says why.
    try """
    task: classification
    layers: [{units: 2, activation: softmax}]
    data: {train: t.csv, target: label}
    """.write(toFile: dir + "/inferred.yaml", atomically: true, encoding: .utf8)
    let inferred = try CommandRunner.mlpc(["check", dir + "/inferred.yaml"])
    let said = inferred.stdout + inferred.stderr
    #expect(said.contains("column 'row' holds whole numbers rising in every row"), "\(said)")
    #expect(said.contains("column 'city' has 60 levels") && said.contains("'encoding: embedding'"))
    #expect(!said.contains("column 'count' holds whole numbers rising"))
  }
}

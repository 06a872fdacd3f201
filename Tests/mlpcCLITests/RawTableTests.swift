// A raw table end to end: a spec that declares categorical and missing-value columns trains,
// predicts and evaluates on raw rows (any column order, extra columns ignored, unseen levels
// reported), resumes with the fitted transforms, and export says it cannot include them yet.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct RawTableTests {
  @Test func rawRowsTrainPredictEvaluateAndResume() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var csv = "id,colour,weight,kind\n"
    for i in 0..<120 {
      let colour = ["red", "green", "blue"][i % 3]
      let weight = i % 11 == 0 ? "NA" : "\(Double(i % 3) * 2 + Double(i % 5) / 10)"
      csv += "\(i),\(colour),\(weight),\(colour == "red" ? "apple" : "other")\n"
    }
    try csv.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    try """
    task: classification
    input: 5
    layers: [{units: 8, activation: tanh}, {units: 2, activation: softmax}]
    data:
      train: d.csv
      target: kind
      features:
        id: ignore
        colour: categorical
        weight: {type: numeric, missing: median, indicator: true}
    training: {epochs: 40, optimizer: adam, learning_rate: 0.05, checkpoint: {every: 10}}
    """.write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
    let run = try CommandRunner.mlpc(["run", dir + "/s.yaml", "--quiet", "--out", dir + "/run"])
    #expect(run.status == 0, "\(run.stderr)")
    let model = try Model.load(dir + "/run")
    #expect(model.description.format == 4)
    #expect(model.description.features == ["colour", "weight"])
    #expect(model.description.transforms?.width == 5)
    // New rows: other column order, an extra column, a missing cell, an unseen colour.
    try "weight,extra,colour\n0.1,x,red\nNA,y,green\n2.2,z,purple\n".write(
      toFile: dir + "/new.csv", atomically: true, encoding: .utf8)
    let predicted = try CommandRunner.mlpc([
      "predict", dir + "/run", dir + "/new.csv", "--keep", "colour",
    ])
    #expect(predicted.status == 0, "\(predicted.stderr)")
    #expect(predicted.stdout.hasPrefix("colour,predicted\nred,apple\ngreen,other\npurple,"))
    #expect(
      predicted.stderr.contains("'colour' holds a level never seen in training (first: 'purple')"))
    let evaluated = try CommandRunner.mlpc(["evaluate", dir + "/run", dir + "/d.csv"])
    #expect(evaluated.status == 0, "\(evaluated.stderr)")
    #expect(evaluated.stdout.contains("accuracy 1.0000"), "\(evaluated.stdout)")
    // A text cell in the numeric column is a located error, not a silent zero.
    try "weight,colour\nheavy,red\n".write(
      toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
    let bad = try CommandRunner.mlpc(["predict", dir + "/run", dir + "/bad.csv"])
    #expect(bad.status == 1 && bad.stderr.contains("bad.csv:2:1"), "\(bad.stderr)")
    let resumed = try CommandRunner.mlpc([
      "run", "--resume", dir + "/run", "--epochs", "50", "--quiet",
    ])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try Model.load(dir + "/run").description.transforms == model.description.transforms)
    // The export takes raw columns and equals mlpc predict on them, unseen level and
    // missing cell included.
    let exported = try CommandRunner.mlpc(["export", dir + "/run"])
    #expect(exported.status == 0, "\(exported.stderr)")
    #expect(exported.stdout.contains("one input per feature column"))
    if let python = CommandRunner.pythonWith(["onnx", "onnxruntime", "numpy"]) {
      let probabilities = try CommandRunner.mlpc([
        "predict", dir + "/run", dir + "/new.csv", "--probabilities", "--out", dir + "/p.csv",
      ])
      #expect(probabilities.status == 0, "\(probabilities.stderr)")
      let check = try CommandRunner.run(
        python,
        [
          Repository.path("scripts/check_onnx.py"), dir + "/run/model.onnx", dir + "/new.csv",
          dir + "/p.csv",
        ])
      #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
      #expect(check.stdout.contains("LabelEncoder") && check.stdout.contains("OneHot"))
    }
    // Quantile scaling too: knots compared in double precision, as mlpc compares them.
    try String(contentsOfFile: dir + "/s.yaml", encoding: .utf8)
      .replacingOccurrences(of: "indicator: true}", with: "indicator: true, scale: quantile}")
      .write(toFile: dir + "/q.yaml", atomically: true, encoding: .utf8)
    let quantile = try CommandRunner.mlpc([
      "run", dir + "/q.yaml", "--quiet", "--epochs", "5", "--out", dir + "/q",
    ])
    #expect(quantile.status == 0, "\(quantile.stderr)")
    let exportedQuantile = try CommandRunner.mlpc(["export", dir + "/q"])
    #expect(exportedQuantile.status == 0, "\(exportedQuantile.stderr)")
    if let python = CommandRunner.pythonWith(["onnx", "onnxruntime", "numpy"]) {
      // Every training cell (knots included), a missing one and values beyond both ends.
      var rows = "weight,colour\n-5,red\n99,blue\nNA,green\n"
      for line in csv.split(separator: "\n").dropFirst() {
        let cells = line.split(separator: ",", omittingEmptySubsequences: false)
        rows += "\(cells[2]),\(cells[1])\n"
      }
      try rows.write(toFile: dir + "/all.csv", atomically: true, encoding: .utf8)
      let predicted = try CommandRunner.mlpc([
        "predict", dir + "/q", dir + "/all.csv", "--probabilities", "--out", dir + "/pq.csv",
      ])
      #expect(predicted.status == 0, "\(predicted.stderr)")
      let check = try CommandRunner.run(
        python,
        [
          Repository.path("scripts/check_onnx.py"), dir + "/q/model.onnx", dir + "/all.csv",
          dir + "/pq.csv",
        ])
      #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }
  }

  @Test func evaluateSkipsRowsWithoutATargetAsTrainingDropsThem() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // A label and a number as targets, each missing ('' or NA) on some rows.
    let header = "colour,weight,kind,size\n"
    var (all, withKind, withSize) = (header, header, header)
    for i in 0..<90 {
      let colour = ["red", "green", "blue"][i % 3]
      let kind = i % 13 == 0 ? "" : colour == "red" ? "apple" : "other"
      let size = i % 7 == 0 ? "NA" : "\(Double(i % 3) + Double(i % 5) / 10)"
      let row = "\(colour),\(Double(i % 5) / 2),\(kind),\(size)\n"
      all += row
      if i % 13 != 0 { withKind += row }
      if i % 7 != 0 { withSize += row }
    }
    try all.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    try withKind.write(toFile: dir + "/kind.csv", atomically: true, encoding: .utf8)
    try withSize.write(toFile: dir + "/size.csv", atomically: true, encoding: .utf8)
    for (task, target, other, head) in [
      ("classification", "kind", "size", "units: 2, activation: softmax"),
      ("regression", "size", "kind", "units: 1, activation: identity"),
    ] {
      try """
      task: \(task)
      layers: [{units: 8, activation: tanh}, {\(head)}]
      data:
        train: d.csv
        target: \(target)
        features: {colour: categorical, weight: numeric, \(other): ignore}
      training: {epochs: 5, optimizer: adam, learning_rate: 0.05}
      """.write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
      let run = try CommandRunner.mlpc([
        "run", dir + "/s.yaml", "--quiet", "--force", "--out", dir + "/run",
      ])
      #expect(run.status == 0, "\(run.stderr)")
      // Scored on the rows that have the target, with the same numbers as without the others.
      let evaluated = try CommandRunner.mlpc(["evaluate", dir + "/run", dir + "/d.csv"])
      let alone = try CommandRunner.mlpc(["evaluate", dir + "/run", dir + "/\(target).csv"])
      #expect(evaluated.status == 0 && alone.status == 0, "\(evaluated.stderr)")
      #expect(evaluated.stdout == alone.stdout, "\(evaluated.stdout) against \(alone.stdout)")
      let missing = task == "classification" ? 7 : 13
      #expect(
        evaluated.stderr.contains(
          "warning[W003]: \(missing) rows of '\(dir)/d.csv' with a missing target not scored (lines 2, "
        ), "\(evaluated.stderr)")
      #expect(!alone.stderr.contains("not scored"), "\(alone.stderr)")
      // A file whose every target is missing has nothing to score: an error, not an empty report.
      try "colour,weight,kind,size\nred,1,,NA\n".write(
        toFile: dir + "/none.csv", atomically: true, encoding: .utf8)
      let none = try CommandRunner.mlpc(["evaluate", dir + "/run", dir + "/none.csv"])
      #expect(none.status == 1 && none.stdout.isEmpty, "\(none.stdout)")
      #expect(
        none.stderr.contains("none.csv:2:1: error") && none.stderr.contains("nothing to score"),
        "\(none.stderr)")
    }
  }

  @Test func withoutInputTheDataGivesNZeroAndPlanShowsTheFeatures() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "colour,weight,kind\nred,1,a\nblue,NA,b\ngreen,3,a\nred,4,b\n".write(
      toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    try """
    task: classification
    layers: [{units: 2, activation: softmax}]
    data: {train: d.csv, target: kind}
    """.write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
    let plan = try CommandRunner.mlpc(["plan", dir + "/s.yaml"])
    #expect(plan.status == 0, "\(plan.stderr)")
    #expect(plan.stdout.contains("4 → 2"), "\(plan.stdout)")
    #expect(plan.stdout.contains("colour   one-hot: 3 levels"), "\(plan.stdout)")
    #expect(plan.stdout.contains("weight   numeric: fill 3, standard"), "\(plan.stdout)")
    #expect(plan.stderr.contains("note[N001]"), "\(plan.stderr)")
    // A numeric table without input: n^0 is its column count.
    let iris = try String(contentsOfFile: Repository.path("specs/iris.yaml"), encoding: .utf8)
    try iris.split(separator: "\n", omittingEmptySubsequences: false)
      .filter { !$0.hasPrefix("input:") }.joined(separator: "\n")
      .replacingOccurrences(of: "data/", with: Repository.path("specs/data") + "/")
      .write(toFile: dir + "/iris.yaml", atomically: true, encoding: .utf8)
    let checked = Checker.check(file: dir + "/iris.yaml")
    #expect(checked.spec?.network.input == 4, "\(checked.diagnostics)")
  }

  @Test func aBooleanColumnIsOneZeroOneColumnEverywhere() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var csv = "member,spend,kind\n"
    for i in 0..<60 { csv += "\(i % 2 == 0 ? "yes" : "no"),\(i % 7),\(i % 2 == 0 ? "a" : "b")\n" }
    let trained = try Self.trainAndPredict(
      dir, csv: csv,
      spec: """
        task: classification
        layers: [{units: 2, activation: softmax}]
        data: {train: d.csv, target: kind, features: {member: boolean, spend: numeric}}
        training: {epochs: 30, optimizer: adam, learning_rate: 0.05}
        """, newRows: "member,spend\nyes,1\nno,2\nmaybe,3\n")
    #expect(trained.plan.contains("boolean: 1 for 'yes'") && trained.plan.contains("2 → 2"))
    #expect(
      trained.predictErrors.contains(
        "'member' holds a level never seen in training (first: 'maybe')"))
    let lines = trained.lines
    #expect(lines.count == 4 && lines[1].hasPrefix("a,") && lines[2].hasPrefix("b,"))
    try Self.expectExportAndReaderAgree(dir, lines: lines, compared: 1..<2, op: "LabelEncoder")
  }

  @Test func anEmbeddedColumnTrainsPredictsResumesAndExports() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // The class is the city's parity: only a learned vector per city can tell them apart.
    let cities = (0..<12).map { "c\($0)" }
    var csv = "city,size,flag,kind\n"
    for i in 0..<360 {
      let c = (i * 7) % 12
      let size = i % 13 == 0 ? "NA" : "\(Double(i % 5) / 4)"
      csv += "\(cities[c]),\(size),\(i % 3 == 0 ? "x" : "y"),\(c % 2 == 0 ? "even" : "odd")\n"
    }
    try csv.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    try """
    task: classification
    layers: [{units: 16, activation: relu}, {units: 2, activation: softmax}]
    data:
      train: d.csv
      target: kind
      validation_split: 0.2
      features:
        city: {type: categorical, encoding: embedding, dim: 3}
        size: {type: numeric, missing: median}
        flag: {type: categorical, encoding: embedding}
    training: {epochs: 60, optimizer: adam, learning_rate: 0.03, weight_decay: 0.001, checkpoint: {every: 20}}
    """.write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
    let check = try CommandRunner.mlpc(["check", dir + "/s.yaml"])
    #expect(check.status == 0, "\(check.stderr)")
    // Two levels and no dim: said, with the better encodings.
    let said = check.stdout + check.stderr
    #expect(
      said.contains("feature 'flag' has 2 levels in the training rows")
        && said.contains("'type: boolean'"), "\(said)")
    let plan = try CommandRunner.mlpc(["plan", dir + "/s.yaml"])
    // n^0 = 3 (city) + 1 (size) + 3 (flag: round(1.6 · 3^0.56) for 3 rows); tables 13×3, 3×3.
    #expect(plan.stdout.contains("7 → 16 → 2"), "\(plan.stdout)")
    #expect(plan.stdout.contains("embedding: 12 levels + unknown → 3"))
    #expect(plan.stdout.contains("city       13×3") && plan.stdout.contains("flag       3×3"))
    #expect(plan.stdout.contains("embed_backward"))
    let gradcheck = try CommandRunner.mlpc(["gradcheck", dir + "/s.yaml"])
    #expect(gradcheck.status == 0 && gradcheck.stdout.contains("city.embedding"))
    let run = try CommandRunner.mlpc(["run", dir + "/s.yaml", "--quiet", "--out", dir + "/run"])
    #expect(run.status == 0, "\(run.stderr)")
    let model = try Model.load(dir + "/run")
    #expect(model.network.input == 7 && model.network.loadedColumns == 3)
    let table = try #require(model.tensors["city.embedding"])
    #expect(table.shape == [13, 3])
    // The unknown row: no training row selects it, so it stays at 0.
    #expect(table.values.suffix(3).allSatisfy { $0 == 0 })
    #expect(table.values.prefix(36).contains { $0 != 0 })
    let evaluated = try CommandRunner.mlpc(["evaluate", dir + "/run", dir + "/d.csv"])
    #expect(evaluated.stdout.contains("accuracy 1.0000"), "\(evaluated.stdout)")
    // Resuming continues the tables (format-4 checkpoints hold them with the optimizer state).
    let resumed = try CommandRunner.mlpc([
      "run", "--resume", dir + "/run", "--epochs", "70", "--quiet",
    ])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try Model.load(dir + "/run").tensors["city.embedding"]?.values != table.values)
    // New rows with an unseen city and a missing size: predict, the numpy reader and ONNX agree.
    try "flag,size,city\nx,0.5,c3\ny,NA,c4\nx,0.25,atlantis\n".write(
      toFile: dir + "/new.csv", atomically: true, encoding: .utf8)
    let predicted = try CommandRunner.mlpc([
      "predict", dir + "/run", dir + "/new.csv", "--probabilities", "--out", dir + "/p.csv",
    ])
    #expect(predicted.status == 0, "\(predicted.stderr)")
    #expect(
      predicted.stderr.contains("'city' holds a level never seen in training (first: 'atlantis')"))
    let lines = try String(contentsOfFile: dir + "/p.csv", encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 4 && lines[1].hasPrefix("odd,") && lines[2].hasPrefix("even,"))
    try Self.expectExportAndReaderAgree(dir, lines: lines, compared: 1..<3, op: "Gather")
  }

  /// `scale: piecewise_linear`: one column per quantile bin in the plan, trained, and the same
  /// bins applied by predict, the numpy reader and ONNX Runtime to rows inside, between and
  /// beyond the training range, and to a missing cell (filled, then flagged); beside it a
  /// `robust_smooth_clip` column.
  @Test func aPiecewiseLinearColumnTrainsPredictsAndExports() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // The class is whether x falls in one of two narrow windows: easy with bins, hard with one
    // standardised column and a linear layer.
    var csv = "x,noise,kind\n"
    for i in 0..<400 {
      let x = Double((i * 37) % 400) / 40
      let inside = (2.0..<3.0).contains(x) || (6.0..<7.0).contains(x)
      csv += "\(i % 17 == 0 ? "NA" : String(x)),\(Double(i % 7) / 7),\(inside ? "in" : "out")\n"
    }
    try csv.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    try """
    task: classification
    layers: [{units: 2, activation: softmax}]
    data:
      train: d.csv
      target: kind
      features:
        x: {type: numeric, missing: median, indicator: true, scale: piecewise_linear, bins: 20}
        noise: {type: numeric, scale: robust_smooth_clip}
    training: {epochs: 150, optimizer: adam, learning_rate: 0.05}
    """.write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
    let plan = try CommandRunner.mlpc(["plan", dir + "/s.yaml"])
    // x: 20 bins + indicator; noise: one column.
    #expect(plan.stdout.contains("22 → 2"), "\(plan.stdout)")
    #expect(plan.stdout.contains("piecewise_linear (20 bins)"), "\(plan.stdout)")
    let run = try CommandRunner.mlpc(["run", dir + "/s.yaml", "--quiet", "--out", dir + "/run"])
    #expect(run.status == 0, "\(run.stderr)")
    let evaluated = try CommandRunner.mlpc(["evaluate", dir + "/run", dir + "/d.csv"])
    let accuracy = evaluated.stdout.split(separator: " ").drop { $0 != "accuracy" }.dropFirst()
      .first.flatMap { Double($0.filter { $0.isNumber || $0 == "." }) }
    #expect(
      (accuracy ?? 0) > 0.93, "a linear layer over the bins finds the windows: \(evaluated.stdout)")
    try "noise,x\n0.5,2.5\n0.1,NA\n0.9,-40\n2,55\n0,6.5\n".write(
      toFile: dir + "/new.csv", atomically: true, encoding: .utf8)
    let predicted = try CommandRunner.mlpc([
      "predict", dir + "/run", dir + "/new.csv", "--probabilities", "--out", dir + "/p.csv",
    ])
    #expect(predicted.status == 0, "\(predicted.stderr)")
    let lines = try String(contentsOfFile: dir + "/p.csv", encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 6 && lines[1].hasPrefix("in,") && lines[5].hasPrefix("in,"))
    try Self.expectExportAndReaderAgree(
      dir, lines: lines, compared: 1..<3, op: "Max Min Mul Softmax Sqrt")
  }

  /// What `trainAndPredict` saw.
  struct Trained {
    var plan: String
    var gradcheck: String
    var model: Model
    /// The lines of `dir`/p.csv, the header first.
    var lines: [Substring]
    var predictErrors: String
  }

  /// `csv` as `dir`/d.csv and `spec` as `dir`/s.yaml: planned, gradient-checked (when asked),
  /// trained into `dir`/run, and asked for the probabilities of `newRows` (`dir`/new.csv) into
  /// `dir`/p.csv.
  static func trainAndPredict(
    _ dir: String, csv: String, spec: String, newRows: String, gradcheck: Bool = false
  ) throws -> Trained {
    try csv.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    try spec.write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
    let plan = try CommandRunner.mlpc(["plan", dir + "/s.yaml"])
    #expect(plan.status == 0, "\(plan.stderr)")
    var checked = ""
    if gradcheck {
      let result = try CommandRunner.mlpc(["gradcheck", dir + "/s.yaml"])
      #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
      checked = result.stdout
    }
    let run = try CommandRunner.mlpc(["run", dir + "/s.yaml", "--quiet", "--out", dir + "/run"])
    #expect(run.status == 0, "\(run.stderr)")
    try newRows.write(toFile: dir + "/new.csv", atomically: true, encoding: .utf8)
    let predicted = try CommandRunner.mlpc([
      "predict", dir + "/run", dir + "/new.csv", "--probabilities", "--out", dir + "/p.csv",
    ])
    #expect(predicted.status == 0, "\(predicted.stderr)")
    let lines = try String(contentsOfFile: dir + "/p.csv", encoding: .utf8).split(separator: "\n")
    return Trained(
      plan: plan.stdout, gradcheck: checked, model: try Model.load(dir + "/run"), lines: lines,
      predictErrors: predicted.stderr)
  }

  /// `trainAndPredict` on a mixed table (a six-level category `city`, two numbers, a label
  /// `kind` the city's parity decides) with gradcheck, predicting three rows (one of an unseen
  /// city).
  static func trainMixedTable(_ dir: String, spec: String) throws -> Trained {
    var csv = "city,size,weight,kind\n"
    for i in 0..<240 {
      let c = (i * 7) % 6
      csv +=
        "c\(c),\(Double(i % 9) / 3),\(Double((i * 5) % 11) - 5),\(c % 2 == 0 ? "even" : "odd")\n"
    }
    let trained = try trainAndPredict(
      dir, csv: csv, spec: spec, newRows: "city,size,weight\nc1,1,2\nc2,0.5,-4\nc9,2,40\n",
      gradcheck: true)
    #expect(trained.lines.count == 4)
    return trained
  }

  /// The run in `dir`/run exported: ONNX Runtime (using `op`) and the numpy reader equal
  /// `mlpc predict`'s probabilities `lines` (of `dir`/new.csv) within 1e-5 in the `compared`
  /// columns, and name the same classes.
  static func expectExportAndReaderAgree(
    _ dir: String, lines: [Substring], compared: Range<Int>, op: String
  ) throws {
    let exported = try CommandRunner.mlpc(["export", dir + "/run"])
    #expect(exported.status == 0, "\(exported.stderr)")
    guard let python = CommandRunner.pythonWith(["onnx", "onnxruntime", "numpy", "safetensors"])
    else { return }
    let onnx = try CommandRunner.run(
      python,
      [
        Repository.path("scripts/check_onnx.py"), dir + "/run/model.onnx", dir + "/new.csv",
        dir + "/p.csv",
      ])
    #expect(onnx.status == 0 && onnx.stdout.contains(op), "\(onnx.stdout)\(onnx.stderr)")
    let reader = try CommandRunner.run(
      python, [Repository.path("scripts/mlpc_reader.py"), dir + "/run", dir + "/new.csv"])
    #expect(reader.status == 0, "\(reader.stderr)")
    let ours = lines.map { $0.split(separator: ",").map(String.init) }
    let theirs = reader.stdout.split(separator: "\n").map {
      $0.split(separator: ",").map(String.init)
    }
    #expect(ours.count == theirs.count)
    for (x, y) in zip(ours.dropFirst(), theirs.dropFirst()) {
      #expect(x[0] == y[0])
      for c in compared {
        #expect(abs((Double(x[c]) ?? .nan) - (Double(y[c]) ?? .nan)) < 1e-5)
      }
    }
  }
}

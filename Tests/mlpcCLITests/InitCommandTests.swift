// `mlpc init`: a first spec for a raw table that checks and trains as written: the task from the
// target, each column's inferred treatment (identifiers and constants ignored), the data path
// relative to the spec; clear errors for a misspelt target, and no spec replaced; the trial that
// keeps the numbers' treatment with the lower validation loss, checked against runs of both.

import Foundation
import MLPCTestSupport
import Testing

@testable import MLPCore

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

  /// The spec `mlpc init --no-trial` writes to `dir`/s.yaml for `csv` (as `dir`/t.csv).
  static func initialize(_ dir: String, _ csv: String, target: String) throws -> String {
    try csv.write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
    let written = try CommandRunner.mlpc([
      "init", dir + "/t.csv", "--target", target, "--out", dir + "/s.yaml", "--no-trial",
    ])
    #expect(written.status == 0, "\(written.stderr)")
    return try String(contentsOfFile: dir + "/s.yaml", encoding: .utf8)
  }

  /// What `mlpc init --no-trial` says on standard error refusing `file` with `target` (exit 1).
  static func refusal(_ file: String, target: String, _ options: [String] = []) throws -> String {
    let result = try CommandRunner.mlpc(
      ["init", file, "--target", target, "--no-trial"] + options)
    #expect(result.status == 1, "\(result.stdout)")
    return result.stderr
  }

  /// `mlpc check` of a spec for `dir`/t.csv that leaves the feature types to the checker.
  static func checkInferred(_ dir: String) throws -> ProcessResult {
    try """
    task: classification
    layers: [{units: 2, activation: softmax}]
    data: {train: t.csv, target: label}
    """.write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
    return try CommandRunner.mlpc(["check", dir + "/s.yaml"])
  }

  @Test func aFirstSpecChecksAndTrains() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Self.table(dir)
    let written = try CommandRunner.mlpc([
      "init", dir + "/data/t.csv", "--target", "label", "--out", dir + "/s.yaml", "--no-trial",
    ])
    #expect(written.status == 0, "\(written.stderr)")
    let text = try String(contentsOfFile: dir + "/s.yaml", encoding: .utf8)
    #expect(!text.contains("trial"), "\(text)")
    #expect(text.contains("task: classification"))
    #expect(text.contains("  train: data/t.csv\n"), "\(text)")
    #expect(text.contains("    id: ignore  # a different value in every row: an identifier"))
    #expect(text.contains("    constant: ignore  # one value in every row"))
    #expect(text.contains("    colour: {type: categorical}  # 3 levels"))
    #expect(text.contains("    size: {type: numeric, missing: median}  # numbers, 7 missing"))
    #expect(text.contains("{units: 2, activation: softmax}  # 2 classes"))
    #expect(text.contains("  optimizer: adamw\n  learning_rate: 0.002\n  weight_decay: 0.1"))
    // 64 training rows in batches of 32: two steps per epoch, averaged over ten epochs' steps.
    #expect(
      text.contains("\n  ema: 0.950000  # averaged weights over about 10 epochs' steps"), "\(text)")
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
    // A folder that is not there is said before anything is read or trained.
    let nowhere = try CommandRunner.mlpc([
      "init", dir + "/data/t.csv", "--target", "label", "--out", dir + "/none/s.yaml",
    ])
    #expect(nowhere.status == 2, "\(nowhere.stderr)")
    #expect(
      nowhere.stderr.contains("the folder '\(dir)/none' of --out does not exist; create it first"),
      "\(nowhere.stderr)")
  }

  @Test func dateColumnsAreIgnoredAndSaidToBeDates() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var csv = "day,when,code,temp,label\n"
    for i in 0..<60 {
      let day = String(format: "2024-%02d-%02d", i / 28 + 1, i % 28 + 1)
      let when = i % 9 == 0 ? "" : "2023-0\(i % 4 + 1)-15T0\(i % 8):30:00Z"
      // Not dates: a thirteenth month.
      let code = "2024-\(i % 2 == 0 ? "13" : "12")-0\(i % 9 + 1)"
      csv += "\(day),\(when),\(code),\(Double(i % 7)),\(i % 2 == 0 ? "a" : "b")\n"
    }
    try csv.write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
    let written = try CommandRunner.mlpc([
      "init", dir + "/t.csv", "--target", "label", "--no-trial",
    ])
    #expect(written.status == 0, "\(written.stderr)")
    let hint =
      "mlpc reads no dates; to use them, add columns of numbers (the month, the day of the year)"
    #expect(written.stdout.contains("    day: ignore  # dates: " + hint), "\(written.stdout)")
    #expect(written.stdout.contains("    when: ignore  # dates, 7 missing: " + hint))
    #expect(
      written.stdout.contains("    code: {type: categorical}  # 18 levels"), "\(written.stdout)")
    // A spec that leaves the types to the checker: the dates are said to be dates.
    let checked = try Self.checkInferred(dir)
    #expect(
      checked.stdout.contains(
        "warning[W003]: column 'day' holds dates, read as categories (60 levels): new rows' dates are levels never seen in training"
      ), "\(checked.stdout)")
    #expect(ColumnSurvey.looksLikeDate("1999-12-31 23:59"))
    #expect(!ColumnSurvey.looksLikeDate("1999-12-32"))
    #expect(!ColumnSurvey.looksLikeDate("1999-1-31"))
    #expect(!ColumnSurvey.looksLikeDate("1999-12-31x"))
  }

  /// Numbers written with digit groups ("12,500") are not read as numbers: `mlpc init` ignores
  /// the column and says why (not "an identifier"), and the checker says it too instead of
  /// reading them as categories in silence or as a few stray cells.
  @Test func numbersWithDigitGroupsAreSaidToBeSo() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var csv = "price,x,rate,cost,label\n"
    for i in 0..<60 {
      // Below 1,000 a plain number; above, grouped (quoted, as a spreadsheet writes them).
      let price = i < 10 ? "\(900 + i)" : "\"\(i),\(String(format: "%03d", i * 7)).5\""
      // Percentages, and amounts with a currency sign, some grouped.
      let cost = i % 2 == 0 ? "\"$\(i + 1),500\"" : "$\(i + 1)"
      csv += "\(price),\(Double(i % 7)),\(i + 1)%,\(cost),\(i % 2 == 0 ? "a" : "b")\n"
    }
    try csv.write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
    let written = try CommandRunner.mlpc([
      "init", dir + "/t.csv", "--target", "label", "--no-trial",
    ])
    #expect(written.status == 0, "\(written.stderr)")
    #expect(
      written.stdout.contains(
        "    price: ignore  # numbers with ',' between digit groups ('10,070.5'): mlpc reads plain numbers; write them without the ',' to use them"
      ), "\(written.stdout)")
    let checked = try Self.checkInferred(dir)
    #expect(
      checked.stdout.contains(
        "warning[W003]: column 'price' holds numbers with ',' between digit groups ('10,070.5', line 12), read as categories (60 levels)"
      ), "\(checked.stdout)")
    #expect(!checked.stdout.contains("column 'price' is numbers but for"), "\(checked.stdout)")
    #expect(
      written.stdout.contains(
        "    rate: ignore  # numbers with '%' ('1%'): mlpc reads plain numbers; write them without the '%' to use them"
      ), "\(written.stdout)")
    #expect(
      written.stdout.contains(
        "    cost: ignore  # numbers with '$' and ',' ('$1,500'): mlpc reads plain numbers; write them without the '$' and ',' to use them"
      ), "\(written.stdout)")
    #expect(
      checked.stdout.contains(
        "warning[W003]: column 'rate' holds numbers with '%' ('1%', line 2), read as categories (60 levels)"
      ), "\(checked.stdout)")
    #expect(
      checked.stdout.contains(
        "help: mlpc reads plain numbers: write them without the '%' (1, not 1%)"),
      "\(checked.stdout)")
    // As the target: refused with the reason, not 60 classes.
    for (target, reason) in [
      (
        "price",
        "'price' holds numbers with ',' between digit groups ('10,070.5', line 12): mlpc reads plain numbers"
      ),
      (
        "cost",
        "'cost' holds numbers with '$' and ',' ('$1,500', line 2): mlpc reads plain numbers; write them without the '$' and ',' (1500, not $1,500)"
      ),
    ] {
      let refused = try Self.refusal(dir + "/t.csv", target: target)
      #expect(refused.contains(reason), "\(refused)")
    }
    for grouped in ["1,234", "-12,500.75", "+999,999,999", "1,000.0"] {
      #expect(ColumnSurvey.looksGrouped(grouped), "\(grouped)")
      #expect(ColumnSurvey.looksWritten(grouped), "\(grouped)")
    }
    for written in ["76%", "-0.5%", "$15", "-$2,380.50", "€3", "£1,000", "12.5%", "$.5"] {
      #expect(ColumnSurvey.looksWritten(written), "\(written)")
    }
    for other in ["%", "$", "12", "$abc", "76 %", "$1e5", "$inf", "nan%", "1,5%", "$-", "5$"] {
      #expect(!ColumnSurvey.looksWritten(other), "\(other)")
    }
    for other in ["1,5", "1234,567", ",123", "1,2345", "1,234.", "1,234x", "12", "a,bcd", ""] {
      #expect(!ColumnSurvey.looksGrouped(other), "\(other)")
    }
  }

  /// A ';'-separated file with decimal commas, as spreadsheets in much of Europe export them:
  /// init reads its numbers with ',' as the decimal point and writes `decimal: ","`, and the
  /// spec trains and predicts. Read with '.' (`--decimal .`, or a spec without the key), the
  /// columns are said to be numbers with a decimal comma, and a column whose commas could be
  /// digit groups ("7,100") is read so too when another column's can only be decimal ones.
  @Test func decimalCommasAreReadOrSaidToBeSo() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var csv = "length;kind;weight;label\n"
    for i in 0..<40 {
      csv += "\(i / 10),\(i % 10)5;k\(i % 3);\(i + 1),\(100 + i);\(i % 2 == 0 ? "a" : "b")\n"
    }
    try csv.write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
    let read = try CommandRunner.mlpc([
      "init", dir + "/t.csv", "--target", "weight", "--delimiter", ";", "--no-trial", "--out",
      dir + "/comma.yaml",
    ])
    #expect(read.status == 0, "\(read.stderr)")
    let spec = try String(contentsOfFile: dir + "/comma.yaml", encoding: .utf8)
    #expect(spec.contains("\ntask: regression\n"), "\(spec)")
    #expect(
      spec.contains(
        "\n  delimiter: \";\"\n  decimal: \",\"  # numbers are written with a decimal comma (3,12)\n"
      ),
      "\(spec)")
    #expect(spec.contains("    length: {type: numeric, missing: median}"), "\(spec)")
    let run = try CommandRunner.mlpc([
      "run", dir + "/comma.yaml", "--epochs", "2", "--quiet", "--out", dir + "/run",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    let predicted = try CommandRunner.mlpc([
      "predict", dir + "/run", dir + "/t.csv", "--delimiter", ";", "--decimal", ",",
    ])
    #expect(predicted.status == 0, "\(predicted.stderr)")
    #expect(predicted.stdout.split(separator: "\n").count == 41, "\(predicted.stdout)")
    let pointed = try CommandRunner.mlpc([
      "predict", dir + "/run", dir + "/t.csv", "--delimiter", ";",
    ])
    #expect(pointed.status == 1)
    #expect(pointed.stderr.contains("'0,05' is not a number"), "\(pointed.stderr)")
    #expect(
      pointed.stderr.contains(
        "help: a number with a decimal comma: set 'decimal: \",\"' in 'data' (mlpc predict and evaluate: --decimal ',')"
      ), "\(pointed.stderr)")
    let clash = try CommandRunner.mlpc(["predict", dir + "/run", dir + "/t.csv", "--decimal", ","])
    #expect(clash.status != 0)
    #expect(clash.stderr.contains("--decimal ',' needs fields separated by another character"))
    // Read with '.' as the decimal point.
    let written = try CommandRunner.mlpc([
      "init", dir + "/t.csv", "--target", "label", "--delimiter", ";", "--decimal", ".",
      "--no-trial",
    ])
    #expect(written.status == 0, "\(written.stderr)")
    let hint = "mlpc reads '.' as the decimal point; write them with '.'"
    #expect(
      written.stdout.contains(
        "    length: ignore  # numbers with a decimal comma ('0,05'): \(hint) (0.05) to use them"),
      "\(written.stdout)")
    #expect(
      written.stdout.contains(
        "    weight: ignore  # numbers with a decimal comma ('1,100'): \(hint) (1.100) to use them"),
      "\(written.stdout)")
    let pointOptions = ["--delimiter", ";", "--decimal", "."]
    let target = try Self.refusal(dir + "/t.csv", target: "weight", pointOptions)
    #expect(
      target.contains(
        "'weight' holds numbers with a decimal comma ('1,100', line 2): mlpc reads '.' as the decimal point; write them with '.' (1.100, not 1,100)"
      ), "\(target)")
    try """
    task: classification
    layers: [{units: 2, activation: softmax}]
    data: {train: t.csv, target: label, delimiter: ";"}
    """.write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
    let checked = try CommandRunner.mlpc(["check", dir + "/s.yaml"])
    #expect(
      checked.stdout.contains(
        "warning[W003]: column 'length' holds numbers with a decimal comma ('0,05', line 2), read as categories (40 levels)"
      ), "\(checked.stdout)")
    #expect(
      checked.stdout.contains(
        "help: mlpc reads '.' as the decimal point: write them with '.' (0.05, not 0,05)"))
    #expect(checked.stdout.contains("column 'weight' holds numbers with a decimal comma"))
    // The key: ',' beside the ';' delimiter reads the numbers; beside ',' it is refused.
    for (data, expected) in [
      (#"{train: t.csv, target: label, delimiter: ";", decimal: ","}"#, "N001"),
      (
        #"{train: t.csv, target: label, decimal: ","}"#,
        "error[E023]: 'data.decimal' is the delimiter ','"
      ),
      (
        #"{train: t.csv, target: label, delimiter: ";", decimal: ";"}"#,
        "error[E006]: 'data.decimal' must be '.' or ','"
      ),
    ] {
      try """
      task: classification
      layers: [{units: 2, activation: softmax}]
      data: \(data)
      """.write(toFile: dir + "/k.yaml", atomically: true, encoding: .utf8)
      let result = try CommandRunner.mlpc(["check", dir + "/k.yaml"])
      #expect(result.stdout.contains(expected), "\(data): \(result.stdout)")
      if expected == "N001" {
        #expect(result.status == 0, "\(result.stdout)")
        #expect(!result.stdout.contains("decimal comma"), "\(result.stdout)")
      }
    }
    // Nothing left to learn from: the refusal gives each column's reason.
    var only = "x;label\n"
    for i in 0..<30 { only += "\(i),5;\(i % 2 == 0 ? "a" : "b")\n" }
    try only.write(toFile: dir + "/only.csv", atomically: true, encoding: .utf8)
    let none = try Self.refusal(dir + "/only.csv", target: "label", pointOptions)
    #expect(
      none.contains(
        "no column besides the target can be a feature: x: numbers with a decimal comma ('0,5'): \(hint) (0.5) to use them"
      ), "\(none)")
    for text in ["3,12", "-0,5", "1234,5", "0,250"] {
      #expect(ColumnSurvey.decimalComma(text) == true, "\(text)")
    }
    #expect(ColumnSurvey.decimalComma("7,100") == false)
    for text in ["3.12", "1,234,567", ",5", "5,", "a,5", "1,2.5", ""] {
      #expect(ColumnSurvey.decimalComma(text) == nil, "\(text)")
    }
  }

  /// A target of numbers but for a few cells of other text ("unknown", "?"): those cells are
  /// missing targets, said in the spec's missing_values; the spec trains as written, dropping
  /// their rows; an empty cell is missing as ever, and the target's line says how many are.
  /// More texts than that, or a column of text, is not a regression target.
  @Test func strayCellsOfANumericTargetAreMissing() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var csv = "x,price\n"
    for i in 0..<100 {
      let price =
        i % 30 == 7 ? "unknown" : i == 50 ? "?" : i == 80 ? "" : "\(100 + Double(i) * 0.75)"
      csv += "\(Double(i) / 10),\(price)\n"
    }
    let text = try Self.initialize(dir, csv, target: "price")
    #expect(text.contains("\ntask: regression\n"), "\(text)")
    #expect(
      text.contains(
        #""null", "unknown", "?"]  # 'price' is numbers but for 5 cells ('unknown' (line 9), '?' (line 52)): read as missing, those rows dropped"#
      ), "\(text)")
    #expect(text.contains(##"  missing_values: ["", "#N/A", "##), "\(text)")
    #expect(
      text.contains("\n  target: price  # 6 of 100 cells missing: those rows are dropped\n"),
      "\(text)")
    let run = try CommandRunner.mlpc([
      "run", dir + "/s.yaml", "--epochs", "3", "--out", dir + "/run",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    #expect(
      run.stderr.contains(
        "6 rows of '\(dir)/t.csv' with a missing target dropped (lines 9, 39, 52, 69, 82, …)"),
      "\(run.stdout)\(run.stderr)")
    #expect(SpecTemplate.quoted("a\tb\"c\\") == #""a\tb\"c\\""#)
  }

  /// A target of whole numbers that are not 0 … k − 1 (a rating from 3 to 7): the spec reads
  /// them as names, so it trains as written and predicts the ratings themselves.
  @Test func wholeNumberClassesAreReadAsNames() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var csv = "x,rating\n"
    for i in 0..<60 { csv += "\(Double(i % 5) + Double(i) / 100),\(i % 5 + 3)\n" }
    let text = try Self.initialize(dir, csv, target: "rating")
    #expect(text.contains("\n  labels: names  # the target's numbers name the classes"), "\(text)")
    #expect(text.contains("{units: 5, activation: softmax}  # 5 classes"), "\(text)")
    #expect(
      text.contains(
        "\ntask: classification  # 'rating' holds 5 different whole numbers: read as classes (mlpc init --task regression predicts a number)\n"
      ), "\(text)")
    let run = try CommandRunner.mlpc([
      "run", dir + "/s.yaml", "--epochs", "3", "--quiet", "--out", dir + "/run",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    let predicted = try CommandRunner.mlpc(["predict", dir + "/run", dir + "/t.csv"])
    #expect(predicted.status == 0, "\(predicted.stderr)")
    let values = Set(predicted.stdout.split(separator: "\n").dropFirst().map(String.init))
    #expect(!values.isEmpty && values.isSubset(of: ["3", "4", "5", "6", "7"]), "\(values)")
    // Labels that are 0 … k − 1 stay class ids: nothing is written.
    var ids = "x,label\n"
    for i in 0..<40 { ids += "\(i % 7),\(i % 2)\n" }
    try ids.write(toFile: dir + "/ids.csv", atomically: true, encoding: .utf8)
    let plain = try CommandRunner.mlpc([
      "init", dir + "/ids.csv", "--target", "label", "--no-trial",
    ])
    #expect(plain.status == 0 && !plain.stdout.contains("labels:"), "\(plain.stdout)")
    // Two levels are classes without a word; --task regression says nothing either.
    #expect(plain.stdout.contains("\ntask: classification\n"), "\(plain.stdout)")
    let asNumber = try CommandRunner.mlpc([
      "init", dir + "/t.csv", "--target", "rating", "--task", "regression", "--no-trial",
    ])
    #expect(asNumber.stdout.contains("\ntask: regression\n"), "\(asNumber.stdout)")
    #expect(asNumber.stdout.contains("{units: 1, activation: identity}"), "\(asNumber.stdout)")
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
    // A target whose values are mostly seen once is no set of classes, unless forced.
    var names = "x,name\n"
    for i in 0..<40 { names += "\(i % 5),n\(i % 30)\n" }
    try names.write(toFile: dir + "/names.csv", atomically: true, encoding: .utf8)
    let unique = try CommandRunner.mlpc(["init", dir + "/names.csv", "--target", "name"])
    #expect(unique.status == 1)
    #expect(
      unique.stderr.contains(
        "'name' has 30 different values in 40 rows, most seen once: as classes most would be learnt from one row; predict another column, or pass --task classification"
      ), "\(unique.stderr)")
    let anyway = try CommandRunner.mlpc([
      "init", dir + "/names.csv", "--target", "name", "--task", "classification", "--no-trial",
    ])
    #expect(anyway.status == 0, "\(anyway.stderr)")
    #expect(anyway.stdout.contains("{units: 30, activation: softmax}  # 30 classes"))
    // Lines that end with the delimiter: unnamed columns, said with the way out.
    try "a,b,label,,\n1,2,x,,\n".write(
      toFile: dir + "/trail.csv", atomically: true, encoding: .utf8)
    let trail = try CommandRunner.mlpc(["init", dir + "/trail.csv", "--target", "label"])
    #expect(trail.status == 1)
    #expect(
      trail.stderr.contains(
        "header columns 4 and 5 have no name; the header ends with ',': remove the empty columns at the end of every line, or name them"
      ), "\(trail.stderr)")
    let misspelt = try CommandRunner.mlpc(["init", dir + "/data/t.csv", "--target", "labl"])
    #expect(misspelt.status == 1)
    #expect(misspelt.stderr.contains("did you mean 'label'?"), "\(misspelt.stderr)")
    // A file separated by semicolons, read with commas: the delimiter is named.
    try "a;b;label\n1;2;x\n".write(toFile: dir + "/semi.csv", atomically: true, encoding: .utf8)
    let semi = try CommandRunner.mlpc(["init", dir + "/semi.csv", "--target", "label"])
    #expect(semi.status == 1)
    #expect(
      semi.stderr.contains("the header looks ';'-separated: pass --delimiter ';'"), "\(semi.stderr)"
    )
  }

  /// A delimiter given to `mlpc init` is the spec's too, so the spec it writes trains as
  /// written; `\t` names a tab on the command line as in the spec.
  @Test func theDelimiterGivenIsWrittenIntoTheSpec() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for (name, given, written, byte) in [
      ("semi", ";", #"  delimiter: ";""#, ";"), ("tab", "\\t", #"  delimiter: "\t""#, "\t"),
    ] {
      var csv = ["a", "colour", "y"].joined(separator: byte) + "\n"
      for i in 0..<60 {
        csv +=
          ["\(Double(i % 10) / 2)", i % 3 == 0 ? "red" : "blue", i % 10 < 5 ? "no" : "yes"]
          .joined(separator: byte) + "\n"
      }
      try csv.write(toFile: dir + "/\(name).csv", atomically: true, encoding: .utf8)
      let spec = dir + "/\(name).yaml"
      let initialized = try CommandRunner.mlpc([
        "init", dir + "/\(name).csv", "--target", "y", "--delimiter", given, "--out", spec,
      ])
      #expect(initialized.status == 0, "\(initialized.stderr)")
      let text = try String(contentsOfFile: spec, encoding: .utf8)
      #expect(text.contains("\n" + written + "\n"), "\(text)")
      #expect(text.contains("    colour: {type: categorical}  # 2 levels"), "\(text)")
      let run = try CommandRunner.mlpc([
        "run", spec, "--epochs", "3", "--quiet", "--out", dir + "/\(name)-run",
      ])
      #expect(run.status == 0, "\(run.stderr)")
      let predicted = try CommandRunner.mlpc([
        "predict", dir + "/\(name)-run", dir + "/\(name).csv", "--delimiter", given,
      ])
      #expect(predicted.status == 0, "\(predicted.stderr)")
      #expect(predicted.stdout.split(separator: "\n").count == 61, "\(predicted.stdout)")
      // Without it, the header is one column: the delimiter to pass is named.
      let unsaid = try CommandRunner.mlpc([
        "evaluate", dir + "/\(name)-run", dir + "/\(name).csv",
      ])
      #expect(unsaid.status == 1)
      #expect(
        unsaid.stderr.contains(
          "help: the header looks '\(given)'-separated: pass --delimiter '\(given)'"),
        "\(unsaid.stderr)")
    }
    let refused = try CommandRunner.mlpc([
      "init", dir + "/semi.csv", "--target", "y", "--delimiter", "\"",
    ])
    #expect(refused.status != 0)
    #expect(refused.stderr.contains("--delimiter must be one character other than a quote"))
  }

  @Test func aNumericRowNumberIsIgnoredAndManyLevelsAreEmbedded() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // `row` counts up (an identifier that parses as numbers); `city` has 60 levels; `count` is
    // whole numbers that repeat, which stays a feature; `bird` repeats some of its names but
    // most are seen once (an identifier with repeats). `PassengerId` and `score` both hold
    // 1 … 240 shuffled: the one named as identifiers are is one, the other stays a number.
    var csv = "row,city,count,bird,PassengerId,score,label\n"
    for i in 0..<240 {
      let shuffled = i * 97 % 240 + 1
      csv +=
        "\(i + 1),city\(i % 60),\(i % 7),N\(i * 2 / 3)A,\(shuffled),\(shuffled),"
        + "\(i % 60 < 30 ? "a" : "b")\n"
    }
    try csv.write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
    let written = try CommandRunner.mlpc([
      "init", dir + "/t.csv", "--target", "label", "--out", dir + "/s.yaml", "--no-trial",
    ])
    #expect(written.status == 0, "\(written.stderr)")
    let text = try String(contentsOfFile: dir + "/s.yaml", encoding: .utf8)
    #expect(text.contains("    row: ignore  # a different value in every row: an identifier"))
    #expect(
      text.contains("    city: {type: categorical, encoding: embedding, max_categories: 1000}"),
      "\(text)")
    #expect(text.contains("    count: {type: numeric, missing: median}"))
    #expect(
      text.contains(
        "    bird: ignore  # 160 levels in 240 cells, most seen once: an identifier or free text"),
      "\(text)")
    #expect(
      text.contains("    PassengerId: ignore  # a different value in every row: an identifier"))
    #expect(text.contains("    score: {type: numeric, missing: median}"), "\(text)")
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
    #expect(
      said.contains(
        "column 'PassengerId' is named like an identifier and holds a different whole number in every row"
      ), "\(said)")
    #expect(!said.contains("column 'score' is named like an identifier"))
    for name in ["id", "ID", "Id", "PassengerId", "customerID", "user_id", "row id", "index"] {
      #expect(ColumnSurvey.isIdentifierName(name), "\(name)")
    }
    for name in ["paid", "Valid", "GRID", "acid", "idle", "identity", "width", "Humid"] {
      #expect(!ColumnSurvey.isIdentifierName(name), "\(name)")
    }
  }

  /// The validation loss of `spec`'s best epoch, from a run of it without refit.
  static func validationLoss(_ spec: String, _ run: String) throws -> Double? {
    let result = try CommandRunner.mlpc([
      "run", spec, "--quiet", "--out", run, "--set", "training.early_stopping.refit=false",
    ])
    guard result.status == 0 else { return nil }
    let summary =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: run + "/summary.json"))) as? [String: Any]
    return (summary?["validation"] as? [String: Any])?["loss"] as? Double
  }

  @Test func theTrialKeepsTheNumbersWithTheLowerValidationLoss() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // `code` is a category written as a number (as a state's or a region's code often is): the
    // target jumps from code to code, which bins fit and one standardized number does not.
    var csv = "code,x,y\n"
    var generator = SeededGenerator(seed: 7)
    let level = (0..<24).map { _ in Double.random(in: -3...3, using: &generator) }
    for i in 0..<240 {
      let code = i % 24
      let x = Double.random(in: -1...1, using: &generator)
      let y = level[code] + 0.5 * x + Double.random(in: -0.1...0.1, using: &generator)
      csv += "\(code),\(x),\(y)\n"
    }
    try csv.write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
    let written = try CommandRunner.mlpc([
      "init", dir + "/t.csv", "--target", "y", "--out", dir + "/s.yaml",
    ])
    #expect(written.status == 0, "\(written.stderr)")
    #expect(written.stderr.contains("--no-trial skips this"), "\(written.stderr)")
    let text = try String(contentsOfFile: dir + "/s.yaml", encoding: .utf8)
    // Both candidates, run on their own (as `mlpc run` runs them, which also shows that both
    // check and train): the spec written is the one with the lower loss.
    let plain = try CommandRunner.mlpc([
      "init", dir + "/t.csv", "--target", "y", "--out", dir + "/plain.yaml", "--no-trial",
    ])
    #expect(plain.status == 0, "\(plain.stderr)")
    let plainText = try String(contentsOfFile: dir + "/plain.yaml", encoding: .utf8)
    #expect(plainText.contains("    code: {type: numeric, missing: median}  # numbers"))
    let binnedText = plainText.replacingOccurrences(
      of: "{type: numeric, missing: median}",
      with: "{type: numeric, missing: median, scale: piecewise_linear}")
    try binnedText.write(toFile: dir + "/binned.yaml", atomically: true, encoding: .utf8)
    let plainLoss = try #require(try Self.validationLoss(dir + "/plain.yaml", dir + "/plain"))
    let binnedLoss = try #require(try Self.validationLoss(dir + "/binned.yaml", dir + "/binned"))
    // On this table the bins win by far (a check that the test can tell the two apart).
    #expect(binnedLoss < plainLoss / 2, "binned \(binnedLoss), standardized \(plainLoss)")
    let comment =
      "  # numbers piecewise-linear (validation loss \(SpecTrial.formatted(binnedLoss))) over "
      + "standardized (validation loss \(SpecTrial.formatted(plainLoss))): mlpc init's trial\n"
    // Standard error tells of each candidate as it ends.
    #expect(
      written.stderr.contains(
        "  numbers standardized: validation loss \(SpecTrial.formatted(plainLoss)) ("),
      "\(written.stderr)")
    #expect(
      written.stderr.contains(
        "  numbers piecewise-linear: validation loss \(SpecTrial.formatted(binnedLoss)) ("))
    #expect(
      text == binnedText.replacingOccurrences(of: "  features:\n", with: comment + "  features:\n"),
      "\(text)")
  }

  @Test func theTrialNeedsNumbersAndLosesNothingWhenACandidateFails() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // No numeric column: nothing to try, the spec is written at once.
    var csv = "colour,label\n"
    for i in 0..<60 { csv += "\(["red", "blue", "green"][i % 3]),\(i % 3 == 0 ? "a" : "b")\n" }
    try csv.write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
    let written = try CommandRunner.mlpc(["init", dir + "/t.csv", "--target", "label"])
    #expect(written.status == 0, "\(written.stderr)")
    #expect(!written.stderr.contains("trial") && !written.stdout.contains("trial"))
    // A candidate that fails loses to one that trains; when neither trains, the first is kept.
    let good = SpecTrial.choose(["not: [a spec", "neither"], file: dir + "/s.yaml")
    #expect(good.chosen == 0)
    #expect(good.results.allSatisfy { $0.loss == nil })
    // A candidate wider than the bound is not trained (a table of hundreds of numbers in
    // piecewise-linear bins); the first is always trained.
    var numbers = "x,label\n"
    for i in 0..<60 { numbers += "\(Double(i) / 7),\(i % 3 == 0 ? "a" : "b")\n" }
    try numbers.write(toFile: dir + "/n.csv", atomically: true, encoding: .utf8)
    let spec = """
      task: classification
      layers: [{units: 4, activation: relu}, {units: 2, activation: softmax}]
      data: {train: n.csv, target: label, validation_split: 0.2, features: {x: {type: numeric, scale: piecewise_linear, bins: 8}}}
      training: {epochs: 2}
      """
    #expect(
      SpecTrial.trial(spec, file: dir + "/s.yaml", maximumInputs: 7)
        == .failed("not tried: 8 inputs, over 7"))
    #expect(SpecTrial.trial(spec, file: dir + "/s.yaml", maximumInputs: 8).loss != nil)
    let wide = SpecTrial.choose([spec, spec], file: dir + "/s.yaml")
    #expect(wide.results.allSatisfy { $0.loss != nil }, "8 inputs are within the bound")
    let annotated = SpecTrial.annotated(
      "name: t\ndata:\n  features:\n    a: x\n", chosen: 1,
      results: [.failed("diverged in epoch 3"), .loss(0.25)], labels: ["first", "second"])
    #expect(
      annotated
        == "name: t\ndata:\n  # numbers second (validation loss 0.25) over first (diverged in epoch 3): mlpc init's trial\n  features:\n    a: x\n"
    )
  }
}

// `mlpc init`: a first spec for a CSV file, from one survey of its columns: the task from the
// target (numbers with many distinct values: regression; otherwise classification), every other
// column as a feature with its inferred treatment and a comment saying why (type, missing cells,
// levels), identifiers (also text whose cells are mostly unique) and constant columns ignored, a
// network sized for the table, a
// validation split with early stopping, and settings that train well without tuning (an
// ensemble of 8 (TabM-mini) trained with AdamW at 0.002 and weight decay 0.1, the raw-table recipe
// bench/recipe.py chose on development tables, then trained again on every row for the epochs
// early stopping chose: `refit`, chosen by bench/init_variants.py on the same tables). The
// numbers are standardized or piecewise-linear (`Numbers`): `mlpc init` writes both and keeps
// the one a trial on the validation split prefers (`SpecTrial`).

import Foundation

/// Writes the text of a first spec for a table.
public enum SpecTemplate {
  /// Why a spec cannot be written for the file.
  public struct Problem: Error, CustomStringConvertible, Sendable {
    public var description: String
  }

  /// How the spec treats its numeric columns.
  public enum Numbers: String, Sendable, CaseIterable {
    /// Standardized (the numeric default).
    case standardized
    /// Piecewise-linear encoding over quantile bins (`scale: piecewise_linear`).
    case piecewiseLinear = "piecewise-linear"
  }

  /// `s` as a YAML scalar: plain when it reads back as the same string, else double-quoted.
  static func yaml(_ s: String) -> String {
    let plain =
      s.range(of: #"^[A-Za-z_./][A-Za-z0-9_ ./-]*$"#, options: .regularExpression) != nil
      && !["yes", "no", "true", "false", "null", "on", "off", "y", "n", "~"].contains(
        s.lowercased())
      && !s.hasSuffix(" ")
    return plain ? s : quoted(s)
  }

  /// `s` as a YAML double-quoted scalar: a JSON string is one (YAML 1.2 reads JSON), with
  /// quotes, backslashes and control characters escaped.
  static func quoted(_ s: String) -> String { Safetensors.jsonString(s) }

  /// Why a target of whole numbers is read as classes, and how to predict it as a number: a
  /// score from 0 to 10 is either, and only the user knows which (two levels are classes).
  static func taskNote(_ y: ColumnSurvey, target: String, task: Task, forced: Task?) -> String {
    guard forced == nil, task == .classification, y.isNumeric, y.levels.count > 2 else {
      return ""
    }
    return
      "  # '\(target)' holds \(y.levels.count) different whole numbers: read as classes (mlpc init --task regression predicts a number)"
  }

  /// The spec's text for `data` (the path the spec names, relative to the spec's folder) read
  /// from `reader`, predicting `target`; `task` forces the task; `numbers` is the numeric
  /// columns' treatment (the network's size follows the table's columns either way).
  public static func write(
    reader: CSVReader, dataPath: String, target: String, task forced: Task? = nil,
    name: String, missing: Set<String> = Set(defaultMissingValues),
    numbers: Numbers = .standardized, detectsDecimalComma: Bool = false
  ) throws(Problem) -> String {
    var diagnostics: [Diagnostic] = []
    let header = reader.header(diagnostics: &diagnostics)
    guard !header.isEmpty, reader.checkHeader(header, diagnostics: &diagnostics) else {
      throw Problem(
        description: diagnostics.first.map { d in d.message + (d.help.map { "; \($0)" } ?? "") }
          ?? "the file has no header")
    }
    guard let targetColumn = header.firstIndex(of: target) else {
      var hint = closest(to: target, in: header).map { "; did you mean '\($0)'?" } ?? ""
      if let shown = CSVReader.likelyDelimiter(of: header) {
        hint = "; the header looks '\(shown)'-separated: pass --delimiter '\(shown)'"
      }
      throw Problem(
        description:
          "no column '\(target)' in the header (\(header.prefix(12).map { "'\($0)'" }.joined(separator: ", ")))\(hint)"
      )
    }
    guard reader.isReadableText(diagnostics: &diagnostics) else {
      throw Problem(description: diagnostics.first?.message ?? "the file is not CSV text")
    }
    let columns = Array(header.indices)
    let (survey, rows) = ColumnSurvey.scan(
      reader, columns: columns, names: header, missing: missing)
    guard rows > 0 else { throw Problem(description: "the file has a header but no rows") }
    // Columns of numbers with a decimal comma in a file whose fields are not ','-separated: the
    // file's numbers are read with ',' as their decimal point, and the spec says so.
    // Some column's commas can only be decimal ones (then a column's "7,100" are read so too).
    let decimalCommas = survey.contains { $0.isDecimalCommaNumbers(inFile: false) }
    if detectsDecimalComma, decimalCommas, reader.decimalPoint == UInt8(ascii: "."),
      reader.delimiter != UInt8(ascii: ","),
      let comma = CSVReader(
        path: reader.path, delimiter: reader.delimiter, decimalPoint: UInt8(ascii: ","),
        diagnostics: &diagnostics, reference: nil)
    {
      return try write(
        reader: comma, dataPath: dataPath, target: target, task: forced, name: name,
        missing: missing, numbers: numbers)
    }
    let y = survey[targetColumn]
    guard y.present > 0 else { throw Problem(description: "every cell of '\(target)' is missing") }
    // A target of numbers but for a few cells of one to three texts ("unknown", "?"): those
    // cells mean missing (their rows are dropped), said in the spec's missing_values.
    if forced != .classification, !y.isNumeric, !y.isWrittenNumbers, !y.moreStrays,
      y.numbers > 0, Double(y.numbers) >= 0.9 * Double(y.present)
    {
      let strays = y.strays
      let text = try write(
        reader: reader, dataPath: dataPath, target: target, task: forced, name: name,
        missing: missing.union(strays.map(\.text)), numbers: numbers)
      let listed =
        defaultMissingValues.filter(missing.contains)
        + missing.subtracting(defaultMissingValues).sorted() + strays.map(\.text)
      let shown = strays.map { "'\($0.text)' (line \($0.line))" }.joined(separator: ", ")
      let line =
        "  missing_values: [\(listed.map(Self.quoted).joined(separator: ", "))]  # '\(target)' is numbers but for \(y.others) cell\(y.others == 1 ? "" : "s") (\(shown)): read as missing, those rows dropped"
      // After the target's line (which says how many of its cells are missing now).
      var lines = text.components(separatedBy: "\n")
      let key = "  target: \(Self.yaml(target))"
      if let at = lines.firstIndex(where: { $0 == key || $0.hasPrefix(key + "  #") }) {
        lines.insert(line, at: at + 1)
      }
      return lines.joined(separator: "\n")
    }
    if forced == nil, y.isDecimalCommaNumbers(inFile: decimalCommas),
      let e = y.decimalCommaExample
    {
      throw Problem(
        description:
          "'\(target)' holds numbers with a decimal comma ('\(e.text)', line \(e.line)): mlpc reads '.' as the decimal point; write them with '.' (\(e.plain), not \(e.text))"
      )
    }
    if forced == nil, y.isWrittenNumbers, let e = y.writtenExample {
      throw Problem(
        description:
          "'\(target)' holds numbers with \(e.how) ('\(e.text)', line \(e.line)): mlpc reads plain numbers; write them without the \(e.marks) (\(e.plain), not \(e.text))"
      )
    }
    let task =
      forced
      ?? (y.isNumeric && (!y.wholeNumbers || y.levels.count > 20) ? .regression : .classification)
    // Classes most of which label one row each: nothing to learn them from.
    if forced == nil, task == .classification, y.present >= 20,
      y.manyLevels || y.levels.count * 2 > y.present
    {
      throw Problem(
        description:
          "'\(target)' has \(y.levelCount) different values in \(y.present) rows, most seen once: as classes most would be learnt from one row; predict another column, or pass --task classification to write the spec anyway"
      )
    }
    if task == .regression, !y.isNumeric {
      throw Problem(description: "'\(target)' holds text, so it cannot be a regression target")
    }
    let classes = y.levels.count
    if task == .classification, classes < 2 {
      throw Problem(
        description: "'\(target)' has \(classes) class; classification needs two or more")
    }
    var lines: [String] = []
    let yaml = Self.yaml
    lines.append("# A first spec for \(dataPath), written by `mlpc init`: read it, adjust it, then")
    lines.append("# `mlpc run` it. Feature types were inferred from the file; comments say why.")
    lines.append("name: \(yaml(name))")
    lines.append("task: \(task.rawValue)" + taskNote(y, target: target, task: task, forced: forced))
    var width = 0
    var featureLines: [String] = []
    for (j, s) in survey.enumerated() where j != targetColumn {
      let key = "    \(yaml(s.name)): "
      let missingNote = s.missing > 0 ? ", \(s.missing) missing" : ""
      if s.present == 0 {
        featureLines.append(key + "ignore  # every cell missing")
      } else if s.levels.count == 1 && !s.manyLevels {
        featureLines.append(key + "ignore  # one value in every row")
      } else if s.isDates {
        // Dates as categories would be mostly unseen levels in new rows; as an identifier the
        // comment would mislead.
        featureLines.append(
          key
            + "ignore  # dates\(missingNote): mlpc reads no dates; to use them, add columns of numbers (the month, the day of the year)"
        )
      } else if s.isDecimalCommaNumbers(inFile: decimalCommas), let e = s.decimalCommaExample {
        featureLines.append(
          key
            + "ignore  # numbers with a decimal comma ('\(e.text)')\(missingNote): mlpc reads '.' as the decimal point; write them with '.' (\(e.plain)) to use them"
        )
      } else if s.isWrittenNumbers, let e = s.writtenExample {
        // As categories they would be mostly unseen levels.
        featureLines.append(
          key
            + "ignore  # numbers with \(e.how) ('\(e.text)')\(missingNote): mlpc reads plain numbers; write them without the \(e.marks) to use them"
        )
      } else if s.looksLikeIdentifier(rows: rows) {
        featureLines.append(key + "ignore  # a different value in every row: an identifier")
      } else if !s.isNumeric, !s.manyLevels, s.present >= 20, s.levels.count * 2 > s.present {
        // Most cells unique: an identifier with repeats or free text, whose levels are mostly
        // seen once in training and not at all in new rows.
        featureLines.append(
          key
            + "ignore  # \(s.levels.count) levels in \(s.present) cells, most seen once: an identifier or free text"
        )
      } else if s.isNumeric {
        let scale = numbers == .piecewiseLinear ? ", scale: piecewise_linear" : ""
        featureLines.append(
          key + "{type: numeric, missing: median\(scale)}  # numbers\(missingNote)")
        width += 1
      } else {
        // Many levels: a learned table (the 999 most frequent levels and "other") instead of a
        // one-hot column each.
        let many = s.manyLevels || s.levels.count > 50
        featureLines.append(
          key + "{type: categorical" + (many ? ", encoding: embedding, max_categories: 1000" : "")
            + "}  # \(s.levelCount) levels\(missingNote)"
            + (s.numbers > 0 ? "; mostly numbers? list the other cells in missing_values" : ""))
        let levels = min(s.levels.count + (s.missing > 0 ? 1 : 0), 1000)
        width += many ? CategoricalTransform.defaultDim(rows: levels + 1) : levels
      }
    }
    guard width > 0 else {
      // Each column's reason, as its comment in the spec would have given it.
      let reasons = featureLines.prefix(5).map {
        $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ": ignore  # ", with: ": ")
      }
      throw Problem(
        description: "no column besides the target can be a feature"
          + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; "))
          + (featureLines.count > 5 ? "; …" : ""))
    }
    let outputs = task == .classification ? classes : 1
    // A power of two near 8·√(2·n^0), between 16 and 256.
    let hidden = 1 << max(4, min(8, Int(log2((Double(width) * 2).squareRoot() * 8).rounded())))
    lines.append(
      "ensemble: 8  # TabM-mini: 8 members sharing the hidden layers, predictions averaged")
    lines.append("layers:")
    lines.append("  - {units: \(hidden), activation: relu}")
    lines.append("  - {units: \(max(8, hidden / 2)), activation: relu}")
    lines.append(
      task == .classification
        ? "  - {units: \(outputs), activation: softmax}  # \(classes) classes"
        : "  - {units: 1, activation: identity}")
    lines.append("data:")
    lines.append("  train: \(yaml(dataPath))")
    lines.append(
      "  target: \(yaml(target))"
        + (y.missing > 0
          ? "  # \(y.missing) of \(rows) cells missing: those rows are dropped" : ""))
    if reader.delimiter != UInt8(ascii: ",") {
      lines.append("  delimiter: \(CSVReader.yamlDelimiter(reader.delimiter))")
    }
    if reader.decimalPoint != UInt8(ascii: ".") {
      lines.append(#"  decimal: ","  # numbers are written with a decimal comma (3,12)"#)
    }
    lines.append("  validation_split: 0.2")
    if task == .classification { lines.append("  stratify: true") }
    // Whole-number labels are class ids 0 … k − 1 unless read as names: labels such as 1 … 10
    // or a rating from 3 to 8 are names here.
    if task == .classification, y.isNumeric, y.levels != Set((0..<classes).map(String.init)) {
      lines.append(
        "  labels: names  # the target's numbers name the classes; they are not ids 0 … \(classes - 1)"
      )
    }
    lines.append("  features:")
    lines += featureLines
    let batch = rows >= 10_000 ? 256 : rows >= 1000 ? 64 : 32
    lines.append("training:")
    lines.append("  epochs: 200")
    lines.append("  batch_size: \(batch)")
    // Chosen on development tables (bench/recipe.py), not on the benchmark's tables.
    lines.append("  optimizer: adamw")
    lines.append("  learning_rate: 0.002")
    lines.append("  weight_decay: 0.1  # decoupled; bench/recipe.py chose it on other tables")
    let decay = emaDecay(rows: rows, batch: batch)
    lines.append(
      "  ema: \(decay.text)  # averaged weights over about \(emaHorizon) epochs' steps (\(decay.steps) per epoch)"
    )
    // Early stopping picks the epochs on the validation split, then (refit) a network trained on
    // every row for that many is the model: bench/init_variants.py's development tables.
    lines.append("  # refit: once stopped, train again on every row for the best epoch's number")
    lines.append(
      "  early_stopping: {monitor: validation_loss, patience: 20, restore_best: true, refit: true}")
    return lines.joined(separator: "\n") + "\n"
  }

  /// Epochs over which `mlpc init`'s averaged weights reach back: the decay is
  /// d = 1 − 1/(horizon · steps per epoch), so the average follows the table's own pace (a fixed
  /// decay would average hundreds of epochs on a small table and a fraction of one on a large one).
  /// Chosen on bench/init_variants.py's development tables (`ema10`), not the benchmark's.
  public static let emaHorizon = 10

  /// The averaged weights' decay for a table of `rows` rows trained in batches of `batch` with
  /// the template's validation split (20 %, rounded as the data set rounds it), as written in
  /// the spec (at least six decimals, and enough to keep three digits of 1 − d however many
  /// steps an epoch has), and the steps per epoch it follows.
  static func emaDecay(rows: Int, batch: Int) -> (text: String, steps: Int) {
    let held = rows > 1 ? min(rows - 1, max(1, Int((Double(rows) * 0.2).rounded()))) : 0
    let steps = max(1, (rows - held + batch - 1) / batch)
    let rest = 1 / Double(emaHorizon * steps)
    let decimals = max(6, Int((-log10(rest)).rounded(.up)) + 3)
    return (String(format: "%.\(decimals)f", 1 - rest), steps)
  }
}

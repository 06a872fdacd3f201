// Reading and fitting declared feature columns (`data.features` as a mapping): the columns are
// read raw (numbers with missing cells as NaN, categories as codes), rows whose target is missing
// are dropped with a warning, and after the validation split the transforms are fitted on the
// training rows only and applied to every split; n^0 is then checked against the encoded width.

import Foundation

extension CheckContext {
  /// The rows of `reader` with the declared feature columns raw; nil when the file cannot be
  /// read or holds bad cells (located diagnostics, at most `CSVReader.errorLimit`).
  mutating func readRaw(
    _ reader: CSVReader, _ columns: CSVColumns, width: Int, raw: inout RawColumns,
    missing: Set<String>, source: Located<String>
  ) -> CSVContents? {
    guard reader.isReadableText(diagnostics: &diagnostics) else { return nil }
    var out = CSVContents()
    out.source = reader
    var errors = 0
    var dropped: [Int] = []
    var found: [Diagnostic] = []
    let missingRule = spec.data?[.missingTarget]?.value
    func problem(_ d: Diagnostic) {
      errors += 1
      if errors <= CSVReader.errorLimit { found.append(d) }
    }
    let missingHasNumbers = missing.contains {
      Double($0.trimmingCharacters(in: .whitespaces)) != nil
    }
    reader.forEachRecord { record in
      if let ragged = record.widthProblem(width) {
        problem(ragged)
        return errors < CSVReader.errorLimit
      }
      // A row without its target cannot train or be scored: dropped.
      let targetCells = columns.numericTargets + (columns.label.map { [$0] } ?? [])
      if let missingTarget = targetCells.first(where: { missing.contains(record.trimmedText($0)) })
      {
        if missingRule == .error {
          problem(
            Diagnostic(
              .badData, "the target cell is missing ('data.missing_target' is 'error')",
              at: record.location(missingTarget)))
          return errors < CSVReader.errorLimit
        }
        dropped.append(record.location.line)
        return true
      }
      var row: [Float] = []
      for (j, column) in columns.features.enumerated() {
        if raw.treatments[j].kind == .numeric, !missingHasNumbers, let value = record.number(column)
        {
          row.append(value)
          continue
        }
        let text = record.trimmedText(column)
        if missing.contains(text) {
          row.append(.nan)
        } else if raw.treatments[j].kind != .numeric {
          row.append(raw.code(text, column: j))
        } else if let value = record.number(column) {
          row.append(value)
        } else {
          var d = record.numberProblem(column)
          d.help =
            d.help
            ?? "if the cell means missing, list it in 'data.missing_values'; if the column holds categories, declare it 'type: categorical'"
          problem(d)
          row.append(.nan)
        }
      }
      for column in columns.numericTargets {
        guard let value = record.number(column) else {
          problem(record.numberProblem(column))
          return errors < CSVReader.errorLimit
        }
        out.targets.append(value)
      }
      if let label = columns.label {
        guard record.isText(label) else {
          problem(
            Diagnostic(.badData, "this label is not valid UTF-8 text", at: record.location(label)))
          return errors < CSVReader.errorLimit
        }
        out.labels.append(record.trimmedText(label))
        out.labelCells.append(record.fields[label].cursor)
      }
      out.features += row
      out.rows += 1
      return errors < CSVReader.errorLimit
    }
    if reader.changedWhileRead {
      _ = reader.stillIntact(diagnostics: &diagnostics)
      return nil
    }
    for d in found { report(d) }
    if errors > CSVReader.errorLimit {
      report(
        .notShown(
          .badData,
          "\(errors - CSVReader.errorLimit) more bad cells or rows in '\(reader.path)' not shown"))
    }
    guard errors == 0 else { return nil }
    // Dropping that the spec asked for is not worth a warning.
    if !dropped.isEmpty, missingRule == nil {
      report(
        Diagnostic(
          .dataWarning,
          "\(dropped.count) row\(dropped.count == 1 ? "" : "s") of '\(reader.path)' with a missing target dropped (lines \(dropped.prefix(5).map(String.init).joined(separator: ", "))\(dropped.count > 5 ? ", …" : ""))",
          at: source.location))
    }
    return out
  }

  /// Fits the declared transforms on the training split and encodes every split; n^0 must equal
  /// the encoded width. False (with diagnostics) when a column cannot be fitted or encoded.
  mutating func fitFeatures(_ prepared: inout PreparedData, _ data: SpecSectionValues) -> Bool {
    guard let raw = prepared.raw else { return true }
    let declared: [(name: Located<String>, treatment: FeatureTreatment)] =
      if case .treatments(let list)? = data[.features]?.value { list } else { [] }
    let at = { (column: Int?) in
      column.flatMap { c in declared.first { $0.name.value == raw.names[c] }?.name.location }
        ?? data[.features]?.location
    }
    let missing = data[.missingValues]?.value.map(\.value) ?? defaultMissingValues
    let encoder: FeatureEncoder
    switch FeatureEncoder.fit(prepared.train, raw, missingValues: missing) {
    case .success(let e): encoder = e
    case .failure(let p):
      report(
        Diagnostic(
          .badData,
          "feature '\(p.column.map { raw.names[$0] } ?? "?")' cannot be fitted on the training rows: \(p.description)",
          at: at(p.column),
          help: p.description == "every cell is missing"
            ? "declare it '\(p.column.map { raw.names[$0] } ?? "?"): ignore'"
            : p.column.map { raw.treatments[$0].kind == .numeric } ?? true
              ? "choose 'missing: mean', 'median' or 'constant', or list the cells meaning missing in 'data.missing_values'"
              : "choose 'missing: category', or list the cells meaning missing in 'data.missing_values'"
        ))
      return false
    }
    for column in encoder.columns {
      guard let k = column.categorical, k.embeddingDim != nil, k.levels.count <= 2,
        let j = raw.names.firstIndex(of: column.name), raw.treatments[j].dim == nil
      else { continue }
      report(
        Diagnostic(
          .dataWarning,
          "feature '\(column.name)' has \(k.levels.count) level\(k.levels.count == 1 ? "" : "s") in the training rows; an embedding of \(k.embeddingDim!) learns more numbers than its levels need",
          at: at(j),
          help: "use 'type: boolean' or 'encoding: one_hot', or give 'dim'"))
    }
    for (split, data) in [
      ("training", prepared.train), ("validation", prepared.validation), ("test", prepared.test),
    ] {
      guard let data else { continue }
      switch encoder.encode(data, raw) {
      case .failure(let p):
        report(
          Diagnostic(
            .badData,
            "feature '\(p.column.map { raw.names[$0] } ?? "?")' of the \(split) rows: \(p.description)",
            at: at(p.column)))
        return false
      case .success(let (encoded, unseen)):
        for (name, u) in unseen.sorted(by: { $0.key < $1.key }) {
          report(
            Diagnostic(
              .dataWarning,
              unseenLevelsText(u.count, feature: name, first: u.first, split: split),
              at: at(raw.names.firstIndex(of: name))))
        }
        switch split {
        case "training": prepared.train = encoded
        case "validation": prepared.validation = encoded
        default: prepared.test = encoded
        }
      }
    }
    let widths = encoder.columns.map { "'\($0.name)' \($0.inputWidth)" }
    checkInput(
      encoder.width, source: "the encoded features",
      note: DiagnosticNote(
        "encoded widths: " + widths.prefix(12).joined(separator: ", ")
          + (widths.count > 12 ? ", …" : "")))
    prepared.featureNames = encoder.encodedNames
    prepared.encoder = encoder
    prepared.raw = nil
    return !diagnostics.hasErrors
  }
}

extension CheckContext {
  /// Whether `d` is about one cell that is not a number (or counts more of them).
  static func isCellProblem(_ d: Diagnostic) -> Bool {
    // A number beyond single precision is a number, not a category: that stays an error.
    d.code == .badData && !d.message.contains("single precision")
      && (d.message.hasSuffix("in a numeric column") || d.message.contains("more bad cells"))
  }

  /// The type of every feature column of the training file: numeric when every cell that is not
  /// missing is a number, categorical otherwise. A note says what was inferred; warnings point at
  /// columns that are probably not what they seem (an identifier, a constant, numbers with a
  /// few stray cells, very many levels).
  mutating func inferTreatments(
    _ reader: CSVReader, columns: [Int], names: [String], missing: Set<String>,
    at train: Located<String>
  ) -> [FeatureTreatment] {
    let (stats, rows) = ColumnSurvey.scan(
      reader, columns: columns, names: names, missing: missing)
    var treatments: [FeatureTreatment] = []
    var described: [String] = []
    let decimalCommas = stats.contains { $0.isDecimalCommaNumbers(inFile: false) }
    for (j, s) in stats.enumerated() {
      let name = "'\(names[j])'"
      let present = s.numbers + s.others
      let levelCount = s.levelCount
      var t: FeatureTreatment
      if present == 0 {
        // Nothing to learn from, and nothing to fit a fill on.
        t = FeatureTreatment(kind: .ignore)
        described.append("\(name) ignored (every cell missing)")
        report(
          Diagnostic(
            .dataWarning, "column \(name) has no value in any row; it is ignored",
            at: train.location, help: "declare it in 'data.features' as '\(names[j]): ignore'"))
        treatments.append(t)
        continue
      }
      if s.others == 0 {
        t = FeatureTreatment(kind: .numeric)
        t.imputation = .median
        described.append(
          "\(name) numeric"
            + (s.missing > 0 ? " (\(s.missing) missing, filled with the median)" : ""))
        if s.looksLikeIdentifier(rows: rows) {
          let what =
            s.increasing
            ? "holds whole numbers rising in every row, like a row number or an identifier"
            : "is named like an identifier and holds a different whole number in every row"
          report(
            Diagnostic(
              .dataWarning, "column \(name) \(what); it cannot generalise",
              at: train.location, help: "declare it in 'data.features' as '\(names[j]): ignore'"))
        }
      } else {
        t = FeatureTreatment(kind: .categorical)
        described.append(
          "\(name) categorical (\(levelCount) levels"
            + (s.missing > 0 ? ", \(s.missing) missing" : "")
            + ")")
        if s.isDecimalCommaNumbers(inFile: decimalCommas), let e = s.decimalCommaExample {
          report(
            Diagnostic(
              .dataWarning,
              "column \(name) holds numbers with a decimal comma ('\(e.text)', line \(e.line)), read as categories (\(levelCount) levels)",
              at: train.location,
              help:
                "mlpc reads '.' as the decimal point: write them with '.' (\(e.plain), not \(e.text)), or declare it in 'data.features' as '\(names[j]): ignore'"
            ))
        } else if s.isWrittenNumbers, let e = s.writtenExample {
          report(
            Diagnostic(
              .dataWarning,
              "column \(name) holds numbers with \(e.how) ('\(e.text)', line \(e.line)), read as categories (\(levelCount) levels)",
              at: train.location,
              help:
                "mlpc reads plain numbers: write them without the \(e.marks) (\(e.plain), not \(e.text)), or declare it in 'data.features' as '\(names[j]): ignore'"
            ))
        } else if s.numbers > 0, Double(s.numbers) >= 0.9 * Double(present) {
          let shown = s.strays.map { "'\($0.text)' (line \($0.line))" }.joined(separator: ", ")
          report(
            Diagnostic(
              .dataWarning,
              "column \(name) is numbers but for \(s.others) cell\(s.others == 1 ? "" : "s") (\(shown)), so it is read as categories",
              at: train.location,
              help:
                "if those cells mean missing, list them in 'data.missing_values' (e.g. missing_values: ['\(s.strays.first?.text ?? "?")'])"
            ))
        } else if s.isDates, s.levels.count > 1 {
          // Read as categories, dates in new rows are levels never seen in training.
          report(
            Diagnostic(
              .dataWarning,
              "column \(name) holds dates, read as categories (\(levelCount) levels): new rows' dates are levels never seen in training",
              at: train.location,
              help:
                "declare it in 'data.features' as '\(names[j]): ignore', and to use the dates add columns of numbers (the month, the day of the year)"
            ))
        } else if s.looksLikeIdentifier(rows: rows) {
          report(
            Diagnostic(
              .dataWarning,
              "column \(name) has a different value in every row, like an identifier; it cannot generalise",
              at: train.location, help: "declare it in 'data.features' as '\(names[j]): ignore'"))
        } else if s.levels.count > 50 {
          report(
            Diagnostic(
              .dataWarning,
              "column \(name) has \(s.levels.count) levels, each a one-hot column of its own",
              at: train.location,
              help:
                "declare it with 'encoding: embedding' (a learned row of a few numbers per level), or with 'max_categories' or 'min_frequency' to keep the frequent ones"
            )
          )
        }
      }
      if present > 0, s.levels.count == 1, !s.manyLevels {
        report(
          Diagnostic(
            .dataWarning, "column \(name) holds one value in every row; it carries nothing",
            at: train.location, help: "declare it in 'data.features' as '\(names[j]): ignore'"))
      }
      treatments.append(t)
    }
    report(
      Diagnostic(
        .inferredFeatures,
        "feature types inferred from the training file: " + described.joined(separator: ", "),
        at: train.location,
        help: "declare them in 'data.features' (a mapping of column to treatment) to choose"))
    return treatments
  }
}

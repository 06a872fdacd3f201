// CSV data rules: the target and feature columns exist in the header, n^0 and n^N agree with
// them, every cell is a number, and class labels map onto the output units.

import Foundation

extension CheckContext {
  mutating func checkCSV(
    _ train: Located<String>, _ data: SpecSectionValues, layers: [CheckedLayer]?,
    loss: LossKind?
  ) -> PreparedData? {
    guard let delimiter = checkDelimiter(data[.delimiter]),
      let decimalPoint = checkDecimal(data[.decimal], delimiter: delimiter)
    else { return nil }
    guard let targets = data[.target]?.value else {
      report(
        Diagnostic(
          .missingKey, "missing required key 'data.target'", at: data.location,
          help: "name the column to predict, e.g. 'target: species'"))
      return nil
    }
    let task = spec.top[.task]?.value
    // A mapping of treatments reads the declared columns raw (ignored ones not at all); the
    // transforms are fitted after the split (DataChecks).
    // A `features` that was written but could not be read is reported already; reading every
    // column instead would bury that under errors about columns the user described.
    if data.wrote("features"), data[.features] == nil { return nil }
    var treatments: [(name: Located<String>, treatment: FeatureTreatment)]?
    if case .treatments(let list)? = data[.features]?.value { treatments = list }
    let features =
      treatments.map { $0.filter { $0.treatment.kind != .ignore }.map(\.name) }
      ?? data[.features]?.value.names
    if let list = treatments,
      let ignored = list.first(where: { t in
        t.treatment.kind == .ignore && targets.contains { $0.value == t.name.value }
      })
    {
      report(
        Diagnostic(
          .conflict, "column '\(ignored.name.value)' is the target and cannot be ignored",
          at: ignored.name.location))
      return nil
    }
    if task == .classification, targets.count > 1 {
      report(
        Diagnostic(
          .conflict, "classification takes one target column, found \(targets.count)",
          at: targets[1].location))
      return nil
    }
    let path = resolve(train.value)
    guard
      let reader = CSVReader(
        path: path, delimiter: delimiter, decimalPoint: decimalPoint, diagnostics: &diagnostics,
        reference: train.location)
    else { return nil }
    let header = reader.header(diagnostics: &diagnostics)
    guard !header.isEmpty, checkHeader(header, path: path, reader: reader) else { return nil }
    let headerNote = DiagnosticNote(
      "the header", at: SourceLocation(file: path, line: 1, column: 1))
    let targetColumns = targets.compactMap { column($0, in: header, note: headerNote) }
    for name in features ?? [] where targets.contains(where: { $0.value == name.value }) {
      report(
        Diagnostic(
          .conflict, "column '\(name.value)' is both a target and a feature", at: name.location,
          help: "the target cannot be an input: remove it from 'data.features'"))
      return nil
    }
    let featureColumns =
      features.map { $0.compactMap { column($0, in: header, note: headerNote) } }
      ?? header.indices.filter { !targetColumns.contains($0) }
    guard targetColumns.count == targets.count,
      featureColumns.count == (features?.count ?? featureColumns.count)
    else { return nil }
    guard !featureColumns.isEmpty else {
      report(
        Diagnostic(
          .emptyData, "'\(path)' has no feature columns besides the target", at: train.location))
      return nil
    }
    if features == nil {
      for c in featureColumns where header[c].trimmingCharacters(in: .whitespaces).isEmpty {
        report(
          Diagnostic(
            .dataWarning,
            "column \(c + 1) of '\(path)' has no name (an index written by pandas' to_csv?); it is read as a feature",
            at: SourceLocation(file: path, line: 1, column: 1),
            help:
              "list the features in 'data.features', or write the file with to_csv(index=False)"))
      }
    }
    let featureNames = featureColumns.map { header[$0] }
    let shown =
      featureNames.prefix(8).map { "'\($0)'" }.joined(separator: ", ")
      + (featureNames.count > 8 ? ", …" : "")
    var raw = treatments.map { list in
      RawColumns(
        names: featureNames,
        treatments: featureNames.map { name in list.first { $0.name.value == name }!.treatment })
    }
    let missing = Set((data[.missingValues]?.value.map(\.value)) ?? defaultMissingValues)
    guard let task else { return nil }
    let columns =
      task == .classification
      ? CSVColumns(features: featureColumns, label: targetColumns[0])
      : CSVColumns(features: featureColumns, numericTargets: targetColumns)
    // Classification targets become one-hot rows as wide as the output layer.
    let floatsPerSample =
      featureColumns.count + (task == .classification ? layers?.last?.units ?? 1 : targets.count)
    let sizing = arenaSizing
    let mark = diagnostics.count
    var numeric: CSVContents?
    if raw == nil {
      var found: [Diagnostic] = []
      let rows = reader.rows(columns, width: header.count, diagnostics: &found) { rows in
        sizing?.fits(
          samples: rows, floatsPerSample: floatsPerSample, labels: task == .classification)
          ?? true
      }
      // Without `features`, a table whose only problems are cells that are not numbers (text
      // categories, missing cells) is read with inferred feature types instead.
      if data[.features] == nil, !rows.unreadable, rows.refusedRows == nil, found.hasErrors,
        !reader.changedWhileRead,
        found.allSatisfy({ $0.severity != .error || Self.isCellProblem($0) })
      {
        let inferred = inferTreatments(
          reader, columns: featureColumns, names: featureNames, missing: missing, at: train)
        raw = RawColumns(names: featureNames, treatments: inferred)
      } else {
        diagnostics += found
        if treatments == nil {
          checkInput(
            featureColumns.count, source: "'\(train.value)'",
            note: DiagnosticNote(
              "feature columns: \(shown)", at: SourceLocation(file: path, line: 1, column: 1)))
        }
        numeric = rows
      }
    }
    // Declared or inferred feature types: the columns read raw.
    if raw != nil {
      numeric = readRaw(
        reader, columns, width: header.count, raw: &raw!, missing: missing, source: train)
      let read = Set(featureNames)
      raw!.unread = header.filter { !read.contains($0) }
    }
    // Truncated underneath, the file read as zeros past its new end: that is the one problem.
    if reader.changedWhileRead {
      diagnostics.removeSubrange(mark...)
      _ = reader.stillIntact(diagnostics: &diagnostics)
      return nil
    }
    guard let trainRows = numeric, !trainRows.unreadable else { return nil }
    if let refused = trainRows.refusedRows {
      _ = checkMemory(
        samples: refused, floatsPerSample: floatsPerSample, labels: task == .classification,
        source: "'\(train.value)'", at: train.location)
      return nil
    }
    if trainRows.rows == 0 {
      report(
        Diagnostic(
          .emptyData, "'\(path)' has a header but no rows",
          at: SourceLocation(file: path, line: 1, column: 1)))
      return nil
    }
    var testRows: CSVContents?
    if let test = data[.test] {
      testRows = loadTest(
        test, header: header, columns: columns, delimiter: delimiter, decimalPoint: decimalPoint,
        raw: &raw, missing: missing)
    }
    let targetNames = targetColumns.map { header[$0] }
    if task == .regression {
      checkOutputTargets(
        targetColumns.count, layers: layers,
        note: DiagnosticNote(
          "targets: \(targetNames.map { "'\($0)'" }.joined(separator: ", "))",
          at: targets[0].location))
      guard !diagnostics.hasErrors else { return nil }
      var prepared = PreparedData(
        train: regression(trainRows, featureColumns.count, targetColumns.count), validation: nil,
        test: testRows.map { regression($0, featureColumns.count, targetColumns.count) },
        classNames: nil, featureNames: featureNames, targetNames: targetNames)
      prepared.raw = raw
      return prepared
    }
    guard
      let classes = mapLabels(
        train: trainRows, test: testRows, layers: layers, loss: loss, path: path)
    else { return nil }
    guard !diagnostics.hasErrors else { return nil }
    let binary = loss == .binaryCrossEntropy
    let make = { (rows: CSVContents, labels: [Int]) -> Dataset in
      let d = Dataset.classification(
        features: rows.features, inputs: featureColumns.count, labels: labels,
        classes: classes.names.count)
      return binary ? binaryTargets(d, labels) : d
    }
    var prepared = PreparedData(
      train: make(trainRows, classes.train), validation: nil,
      test: testRows.map { make($0, classes.test) }, classNames: classes.names,
      featureNames: featureNames, targetNames: targetNames)
    prepared.raw = raw
    return prepared
  }

  private func regression(_ rows: CSVContents, _ inputs: Int, _ outputs: Int) -> Dataset {
    Dataset(
      features: rows.features, targets: rows.targets, inputs: inputs, outputs: outputs, labels: nil)
  }

  private mutating func checkDelimiter(_ delimiter: Located<String>?) -> UInt8? {
    guard let delimiter else { return UInt8(ascii: ",") }
    guard let byte = CSVReader.delimiter(delimiter.value) else {
      report(
        Diagnostic(
          .wrongType, "'data.delimiter' must be one character such as ',' ';' or '\\t'",
          at: delimiter.location))
      return nil
    }
    return byte
  }

  /// `data.decimal`: '.' or ','; a decimal comma needs another delimiter.
  private mutating func checkDecimal(_ decimal: Located<String>?, delimiter: UInt8) -> UInt8? {
    guard let decimal else { return UInt8(ascii: ".") }
    guard let byte = CSVReader.decimalPoint(decimal.value) else {
      report(
        Diagnostic(
          .unknownChoice, "'data.decimal' must be '.' or ','", at: decimal.location))
      return nil
    }
    guard byte != UInt8(ascii: ",") || delimiter != byte else {
      report(
        Diagnostic(
          .conflict, "'data.decimal' is the delimiter ','", at: decimal.location,
          help:
            "files with a decimal comma separate their fields with another character: set 'delimiter: \";\"' (or the one the file uses) in 'data'"
        ))
      return nil
    }
    return byte
  }

  /// The header index of a named column, or a diagnostic with the nearest name.
  private mutating func column(_ name: Located<String>, in header: [String], note: DiagnosticNote)
    -> Int?
  {
    if let index = header.firstIndex(of: name.value) { return index }
    var hint = closest(to: name.value, in: header).map { "did you mean '\($0)'?" }
    if let shown = CSVReader.likelyDelimiter(of: header) {
      hint = "the header looks '\(shown)'-separated; set 'delimiter: \"\(shown)\"' in 'data'"
    }
    let columns =
      header.prefix(12).map { "'\($0)'" }.joined(separator: ", ") + (header.count > 12 ? ", …" : "")
    report(
      Diagnostic(
        .unknownColumn, "no column '\(name.value)' in the data file", at: name.location,
        notes: [DiagnosticNote("\(note.message) has columns \(columns)", at: note.location)],
        help: hint))
    return nil
  }

  private mutating func loadTest(
    _ test: Located<String>, header: [String], columns: CSVColumns, delimiter: UInt8,
    decimalPoint: UInt8, raw: inout RawColumns?, missing: Set<String>
  ) -> CSVContents? {
    let path = resolve(test.value)
    guard
      let reader = CSVReader(
        path: path, delimiter: delimiter, decimalPoint: decimalPoint, diagnostics: &diagnostics,
        reference: test.location)
    else { return nil }
    let testHeader = reader.header(diagnostics: &diagnostics)
    guard !testHeader.isEmpty, checkHeader(testHeader, path: path, reader: reader) else {
      return nil
    }
    var remap: [Int: Int] = [:]
    for index in columns.features + columns.numericTargets + (columns.label.map { [$0] } ?? []) {
      guard let found = testHeader.firstIndex(of: header[index]) else {
        report(
          Diagnostic(
            .unknownColumn,
            "test file has no column '\(header[index])', which the training file has",
            at: test.location,
            notes: [
              DiagnosticNote("test file header", at: SourceLocation(file: path, line: 1, column: 1))
            ]))
        return nil
      }
      remap[index] = found
    }
    let mapped = CSVColumns(
      features: columns.features.map { remap[$0]! },
      numericTargets: columns.numericTargets.map { remap[$0]! },
      label: columns.label.map { remap[$0]! })
    let mark = diagnostics.count
    if raw != nil {
      return readRaw(
        reader, mapped, width: testHeader.count, raw: &raw!, missing: missing, source: test)
    }
    let rows = reader.rows(mapped, width: testHeader.count, diagnostics: &diagnostics)
    if reader.changedWhileRead {
      diagnostics.removeSubrange(mark...)
      _ = reader.stillIntact(diagnostics: &diagnostics)
      return nil
    }
    return rows.unreadable ? nil : rows
  }

  /// Header names must be text and each name once (`CSVReader.checkHeader`).
  private mutating func checkHeader(_ header: [String], path: String, reader: CSVReader) -> Bool {
    var found: [Diagnostic] = []
    let ok = reader.checkHeader(header, diagnostics: &found)
    for d in found { report(d) }
    return ok
  }
}

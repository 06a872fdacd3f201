// Class labels → indices. Integer labels are class ids and must lie in 0 ..< n^N (unless
// `data.labels` is `names`); any other labels are names, numbered in sorted order (whole numbers
// in numeric order), and their count must equal n^N.

extension CheckContext {
  struct ClassMapping {
    var names: [String]
    var train: [Int]
    var test: [Int]
  }

  mutating func mapLabels(
    train: CSVContents, test: CSVContents?, layers: [CheckedLayer]?, loss: LossKind?, path: String
  ) -> ClassMapping? {
    let all = train.labels + (test?.labels ?? [])
    for (rows, labels) in [(train, train.labels), (test, test?.labels ?? [])] {
      // Invalid UTF-8 would read as U+FFFD and merge different labels into one class.
      if let i = labels.firstIndex(where: { $0.unicodeScalars.contains("\u{FFFD}") }) {
        report(
          Diagnostic(.badData, "class label is not valid UTF-8 text", at: rows?.labelLocation(i)))
        return nil
      }
    }
    let integers = !all.isEmpty && all.allSatisfy { Int($0) != nil }
    if integers, spec.data?[.labels]?.value != .names {
      return mapIntegerLabels(train: train, test: test, layers: layers, loss: loss)
    }
    // Whole numbers as names go in numeric order (3, 4, …, 10), ties ("01" and "1") by text.
    let names = Array(Set(train.labels)).sorted {
      integers ? (Int($0)!, $0) < (Int($1)!, $1) : $0 < $1
    }
    let shown =
      names.prefix(10).map { "'\($0)'" }.joined(separator: ", ") + (names.count > 10 ? ", …" : "")
    checkOutputClasses(
      names.count, layers: layers, loss: loss,
      note: DiagnosticNote("classes in '\(path)': \(shown)"))
    let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
    var unseen = 0
    let testIndices = (test?.labels ?? []).enumerated().map { i, label -> Int in
      if let k = index[label] { return k }
      unseen += 1
      if unseen <= 5, let test {
        report(
          Diagnostic(
            .labelOutOfRange, "class '\(label)' does not occur in the training data",
            at: test.labelLocation(i)))
      }
      return -1
    }
    if unseen > 5 {
      report(
        .notShown(
          .labelOutOfRange, "\(unseen - 5) more test labels unseen in training not shown"))
    }
    return ClassMapping(names: names, train: train.labels.map { index[$0]! }, test: testIndices)
  }

  private mutating func mapIntegerLabels(
    train: CSVContents, test: CSVContents?, layers: [CheckedLayer]?, loss: LossKind?
  ) -> ClassMapping? {
    guard let output = layers?.last else { return nil }
    let classes = loss == .binaryCrossEntropy ? 2 : output.units
    let outputAt = spec.layers?.last?[.units]?.location
    var bad = 0
    let all = (train.labels + (test?.labels ?? [])).compactMap { Int($0) }
    let oneBased = all.min() == 1 && all.max() == classes
    let help =
      oneBased
      ? "the labels run from 1 to \(classes): class ids start at 0, so subtract 1 from each, or read them as names with 'labels: names' under 'data'"
      : "class ids are 0 … \(classes - 1); to let mlpc number the classes, read the labels as names with 'labels: names' under 'data'"
    func ids(_ rows: CSVContents) -> [Int] {
      rows.labels.enumerated().map { i, text in
        let id = Int(text)!
        if id < 0 || id >= classes {
          bad += 1
          if bad <= 5 {
            // The note and the fix once, with the first cell; the others only say where.
            let first = bad == 1
            report(
              Diagnostic(
                .labelOutOfRange, "class label \(id) is out of range 0...\(classes - 1)",
                at: rows.labelLocation(i),
                notes: first
                  ? [
                    DiagnosticNote(
                      "the output layer has \(output.units) unit\(output.units == 1 ? "" : "s")",
                      at: outputAt)
                  ] : [], help: first ? help : nil))
          }
        }
        return id
      }
    }
    let trainIDs = ids(train)
    let testIDs = test.map(ids) ?? []
    // A test id inside the range but never seen in training cannot be learned (docs: E013).
    let seen = Set(trainIDs)
    var unseen = 0
    if let test, bad == 0 {
      for (i, id) in testIDs.enumerated() where !seen.contains(id) {
        unseen += 1
        if unseen <= 5 {
          report(
            Diagnostic(
              .labelOutOfRange, "class \(id) does not occur in the training data",
              at: test.labelLocation(i)))
        }
      }
    }
    if unseen > 5 {
      report(
        .notShown(
          .labelOutOfRange, "\(unseen - 5) more test labels unseen in training not shown"))
    }
    if bad > 5 {
      report(
        .notShown(.labelOutOfRange, "\(bad - 5) more class labels out of range not shown")
      )
    }
    if bad == 0, let largest = trainIDs.max(), largest + 1 < classes, loss != .binaryCrossEntropy {
      report(
        Diagnostic(
          .dataWarning,
          "output layer has \(classes) units but training labels only use 0...\(largest)",
          at: outputAt))
    }
    return ClassMapping(names: (0..<classes).map(String.init), train: trainIDs, test: testIDs)
  }
}

// Rules for the `data:` section: a built-in generator or CSV files whose header, columns, cells
// and class labels must agree with the network's n^0 and n^N. Loading the data is part of the
// check, so bad cells are reported at `file.csv:line:col` before training starts.

import Foundation

extension CheckContext {
  /// Loads and checks the data; nil when anything is wrong or the network is unknown.
  mutating func checkData(layers: [CheckedLayer]?, loss: LossKind?, seed: UInt64) -> PreparedData? {
    guard let data = spec.data else { return nil }
    let split = value(.validationSplit, in: data)
    var prepared: PreparedData?
    switch (data[.train], data[.generator]) {
    case (.some, .some(let generator)):
      report(
        Diagnostic(
          .conflict, "'data.generator' and 'data.train' cannot both be given",
          at: generator.location,
          help: "keep either the generator or the CSV files"))
    case (nil, nil):
      // A 'train' or 'generator' that was written but invalid is already reported.
      if !data.wrote("train"), !data.wrote("generator") {
        report(
          Diagnostic(
            .missingKey, "'data' needs either 'train' (a CSV file) or 'generator'",
            at: data.location,
            help: "add 'train: FILE.csv' and 'target: COLUMN', or 'generator: xor'"))
      }
    case (nil, .some(let generator)):
      prepared = checkGenerator(generator, data, layers: layers, loss: loss, seed: seed)
    case (.some(let train), nil):
      prepared = checkCSV(train, data, layers: layers, loss: loss)
    }
    guard var prepared, !diagnostics.hasErrors else { return nil }
    let stratify = value(.stratify, in: data)
    if stratify, let at = data[.stratify]?.location, split == 0 || prepared.train.labels == nil {
      let missing = split == 0 ? "'data.validation_split'" : "class labels (regression)"
      report(
        Diagnostic(.ignoredSetting, "'data.stratify' has no effect without \(missing)", at: at))
    }
    if let fold {
      guard prepared.train.count >= fold.count else {
        report(
          Diagnostic(
            .emptyData,
            "\(fold.count)-fold cross-validation needs at least \(fold.count) training samples, found \(prepared.train.count)",
            at: data.location))
        return nil
      }
      let parts = prepared.train.fold(fold.index, of: fold.count)
      prepared.train = parts.train
      prepared.validation = parts.validation
    } else if split > 0 {
      guard prepared.train.count >= 2 else {
        report(
          Diagnostic(
            .emptyData, "validation_split needs at least 2 training samples",
            at: data[.validationSplit]?.location))
        return nil
      }
      let parts = prepared.train.split(validationFraction: split, seed: seed, stratified: stratify)
      prepared.train = parts.train
      prepared.validation = parts.validation
    }
    guard fitFeatures(&prepared, data) else { return nil }
    let targetScaling = value(.targetScale, in: data)
    if prepared.train.labels == nil, targetScaling != .none {
      switch TargetScaler.fit(targetScaling, prepared.train) {
      case .failure(let p):
        report(
          Diagnostic(
            .badData, "the targets cannot be scaled: \(p.description)",
            at: data[.targetScale]?.location ?? data[.target]?.location,
            help: "use 'target_scale: standard' or 'none'"))
        return nil
      case .success(let scaler):
        prepared.train = scaler.apply(prepared.train)
        prepared.validation = prepared.validation.map(scaler.apply)
        prepared.test = prepared.test.map(scaler.apply)
        prepared.targetScaler = scaler
      }
    } else if let at = data[.targetScale]?.location, prepared.train.labels != nil {
      report(
        Diagnostic(
          .ignoredSetting, "'data.target_scale' has no effect on classification", at: at))
    }
    if let written = data[.classWeights] {
      prepared.classWeights = checkClassWeights(written, prepared)
    }
    if value(.standardize, in: data),
      prepared.encoder.map({ !$0.embeddings.isEmpty || !$0.periodicEmbeddings.isEmpty }) == true
    {
      // Loaded rows hold embedding codes, which scaling would destroy; the features' own
      // `scale` settings scale the numeric columns.
      report(
        Diagnostic(
          .ignoredSetting,
          "'data.standardize' has no effect with embedded features; numeric features are scaled by their 'scale'",
          at: data[.standardize]?.location ?? data[.features]?.location))
    } else if value(.standardize, in: data) {
      let standardizer = Standardizer(fitting: prepared.train)
      standardizer.apply(&prepared.train)
      if prepared.validation != nil { standardizer.apply(&prepared.validation!) }
      if prepared.test != nil { standardizer.apply(&prepared.test!) }
      prepared.standardizer = standardizer
    }
    return prepared
  }

  /// One weight per class: scikit-learn's `compute_class_weight("balanced")` on the training
  /// split (a class without training samples gets 1), or the written ones (others 1).
  private mutating func checkClassWeights(
    _ written: Located<ClassWeightsValue>, _ prepared: PreparedData
  ) -> [Float]? {
    guard let labels = prepared.train.labels, let names = prepared.classNames else {
      report(
        Diagnostic(
          .ignoredSetting, "'data.class_weights' has no effect without class labels (regression)",
          at: written.location))
      return nil
    }
    let classes = names.count
    switch written.value {
    case .balanced:
      var counts = [Int](repeating: 0, count: classes)
      for label in labels { counts[label] += 1 }
      let n = Double(labels.count)
      return counts.map { $0 == 0 ? 1 : Float(n / (Double(classes) * Double($0))) }
    case .mapping(let entries):
      var weights = [Float](repeating: 1, count: classes)
      for (name, weight) in entries {
        guard let c = names.firstIndex(of: name.value) else {
          report(
            Diagnostic(
              .unknownChoice,
              "'data.class_weights' names class '\(name.value)', which the data does not have",
              at: name.location,
              notes: [
                DiagnosticNote("classes: " + names.map { "'\($0)'" }.joined(separator: ", "))
              ],
              help: closest(to: name.value, in: names).map { "did you mean '\($0)'?" }))
          continue
        }
        // Training weighs losses in single precision: 1e300 is ∞ there and 1e-50 is 0.
        let single = Float(weight.value)
        guard single.isFinite, single > 0 else {
          report(
            Diagnostic(
              .hyperparameter,
              "'data.class_weights' weight of '\(name.value)' must be a positive finite number in single precision, which training uses; \(weight.value) is \(single) there",
              at: weight.location, help: "use a weight between 1e-30 and 1e30"))
          continue
        }
        weights[c] = single
      }
      return weights
    }
  }

  private mutating func checkGenerator(
    _ kind: Located<GeneratorKind>, _ data: SpecSectionValues, layers: [CheckedLayer]?,
    loss: LossKind?,
    seed: UInt64
  ) -> PreparedData? {
    let (samples, noise) = (checked(.samples, in: data), checked(.noise, in: data))
    let (classes, dimensions) = (checked(.classes, in: data), checked(.dimensions, in: data))
    for (found, kinds) in [
      (classes, [GeneratorKind.spirals, .blobs]), (dimensions, [.blobs, .sine]),
    ] where found != nil && !kinds.contains(kind.value) {
      report(
        Diagnostic(
          .ignoredSetting,
          "'\(found!.path)' has no effect on generator '\(kind.value.rawValue)'",
          at: found!.location))
    }
    let config = GeneratorConfig(
      kind: kind.value, samples: samples?.value, noise: noise?.value,
      classes: kind.value == .spirals || kind.value == .blobs ? classes?.value : nil,
      dimensions: kind.value == .blobs || kind.value == .sine ? dimensions?.value : nil)
    let task: Task = kind.value == .sine ? .regression : .classification
    if let given = spec.top[.task], given.value != task {
      report(
        Diagnostic(
          .conflict,
          "generator '\(kind.value.rawValue)' makes \(task.rawValue) data but the task is \(given.value.rawValue)",
          at: kind.location, notes: [DiagnosticNote("task set here", at: given.location)]))
      return nil
    }
    checkInput(config.inputs, source: "generator '\(kind.value.rawValue)'", note: nil)
    if task == .classification {
      checkOutputClasses(config.classes, layers: layers, loss: loss, note: nil)
    } else {
      checkOutputTargets(1, layers: layers, note: nil)
    }
    guard !diagnostics.hasErrors, config.samples >= 1,
      config.classes <= 1000 || task == .regression,
      checkMemory(
        samples: config.samples, floatsPerSample: config.inputs + config.outputs,
        labels: task == .classification, source: "generator '\(kind.value.rawValue)'",
        at: data[.samples]?.location ?? kind.location)
    else { return nil }
    var dataset = generateDataset(config, seed: seed)
    if loss == .binaryCrossEntropy, let labels = dataset.labels {
      dataset = binaryTargets(dataset, labels)
    }
    let names = (0..<config.inputs).map { "x\($0)" }
    return PreparedData(
      train: dataset, validation: nil, test: nil,
      classNames: task == .classification ? (0..<config.classes).map(String.init) : nil,
      featureNames: names, targetNames: task == .classification ? ["class"] : ["y"])
  }

  /// n^0 against the number of features the data has.
  mutating func checkInput(_ features: Int, source: String, note: DiagnosticNote?) {
    guard let input = spec.top[.input], input.value >= 1, input.value != features else { return }
    report(
      Diagnostic(
        .inputMismatch,
        "'input' is \(input.value) but \(source) has \(features) feature\(features == 1 ? "" : "s")",
        at: input.location, notes: note.map { [$0] } ?? [], help: "set 'input: \(features)'"))
  }

  /// n^N against the number of classes (1 sigmoid unit for 2 classes with binary_cross_entropy).
  mutating func checkOutputClasses(
    _ classes: Int, layers: [CheckedLayer]?, loss: LossKind?, note: DiagnosticNote?
  ) {
    guard let output = layers?.last, let at = spec.layers?.last?[.units]?.location else { return }
    if loss == .binaryCrossEntropy {
      if classes != 2 {
        report(
          Diagnostic(
            .binaryCrossEntropyShape,
            "'binary_cross_entropy' needs 2 classes but the data has \(classes)",
            at: spec.top[.loss]?.location ?? at, notes: note.map { [$0] } ?? []))
      }
      return
    }
    guard output.units != classes else { return }
    if classes == 1 {
      // Nothing to tell apart: no width of the output layer makes this a classifier.
      report(
        Diagnostic(
          .outputClassMismatch,
          "the training rows hold one class only; a classifier needs at least two",
          at: spec.data?[.target]?.location ?? at, notes: note.map { [$0] } ?? [],
          help: "check 'data.target' (or use 'task: regression' for a numeric target)"))
      return
    }
    report(
      Diagnostic(
        .outputClassMismatch,
        "output layer '\(output.name)' has \(output.units) units but the data has \(classes) classes",
        at: at, notes: note.map { [$0] } ?? [], help: "set 'units: \(classes)' on the output layer")
    )
  }

  /// n^N against the number of regression targets.
  mutating func checkOutputTargets(_ targets: Int, layers: [CheckedLayer]?, note: DiagnosticNote?) {
    guard let output = layers?.last, output.units != targets,
      let at = spec.layers?.last?[.units]?.location
    else { return }
    report(
      Diagnostic(
        .outputTargetMismatch,
        "output layer '\(output.name)' has \(output.units) units but there \(targets == 1 ? "is 1 target" : "are \(targets) targets")",
        at: at, notes: note.map { [$0] } ?? [], help: "set 'units: \(targets)' on the output layer")
    )
  }

  /// Resolves a path from the spec relative to the spec file's folder.
  func resolve(_ path: String) -> String {
    let folder = PathText.parent(spec.file)
    let joined = path.hasPrefix("/") || folder.isEmpty ? path : folder + "/" + path
    return normalize(joined)
  }

  /// Removes `.` and `name/..` components without touching the file system.
  private func normalize(_ path: String) -> String {
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
      if part == "." { continue }
      if part == "..", let last = parts.last, last != ".." {
        parts.removeLast()
      } else {
        parts.append(part)
      }
    }
    let joined = parts.joined(separator: "/")
    return path.hasPrefix("/") ? "/" + joined : (joined.isEmpty ? "." : joined)
  }
}

/// The data set with one 0/1 target column, for a single sigmoid unit.
func binaryTargets(_ data: Dataset, _ labels: [Int]) -> Dataset {
  Dataset(
    features: data.features, targets: labels.map(Float.init), inputs: data.inputs, outputs: 1,
    labels: labels)
}

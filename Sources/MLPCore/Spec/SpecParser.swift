// Spec format v1 (docs/spec.md): YAML text → `ModelSpec`, walking Yams nodes by hand so every
// value keeps its `path:line:col`. Structure and types are checked here; meaning (shapes, loss
// against activation, data files) is the checker's job.

import Foundation
import Yams

/// Parses spec files into `ModelSpec` values with located diagnostics.
public enum SpecParser {
  /// Files larger than this are refused before YAML parsing (specs are a few hundred bytes).
  public static let maximumFileSize = 64 << 10

  /// Reads and parses the spec at `path`.
  public static func parse(file path: String, overrides: [SpecOverride] = []) -> (
    spec: ModelSpec?, diagnostics: [Diagnostic]
  ) {
    let start = SourceLocation(file: path, line: 1, column: 1)
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
      isDirectory.boolValue
    {
      return (
        nil, [Diagnostic(.fileUnreadable, "'\(path)' is a directory, not a spec file", at: nil)]
      )
    }
    let file: RegularFile
    switch RegularFile.open(path) {
    case .failure(let problem):
      return (nil, [Diagnostic(.fileUnreadable, "spec file '\(path)' \(problem.reason)", at: nil)])
    case .success(let opened): file = opened
    }
    if file.size > maximumFileSize {
      close(file.descriptor)
      return (
        nil,
        [
          Diagnostic(
            .notASpec,
            "spec file is \(file.size) bytes, larger than \(maximumFileSize >> 10) KiB; specs are small YAML files",
            at: start)
        ]
      )
    }
    switch file.readAll(limit: maximumFileSize) {
    case .failure(let problem):
      return (nil, [Diagnostic(.fileUnreadable, "spec file '\(path)' \(problem.reason)", at: nil)])
    case .success(let data):
      return parse(text: String(decoding: data, as: UTF8.self), file: path, overrides: overrides)
    }
  }

  /// Parses spec text; `file` is used for locations and the default name. `overrides`
  /// (`--set PATH=VALUE`) replace or add values before the spec is read.
  public static func parse(text: String, file: String, overrides: [SpecOverride] = []) -> (
    spec: ModelSpec?, diagnostics: [Diagnostic]
  ) {
    var document = YAMLDocument(text: text, file: file)
    let reader = NodeReader(file: file, skipping: document.duplicateKeys)
    if !overrides.isEmpty, let root = document.root {
      let lines = text.utf8.count { $0 == 10 } + 1
      var applier = OverrideApplier(baseLine: lines, file: file)
      document.root = applier.apply(overrides, to: root)
      reader.overrideBase = lines
      reader.overrideNames = OverrideApplier.names(overrides)
      document.diagnostics += applier.diagnostics
    }
    let start = SourceLocation(file: file, line: 1, column: 1)
    guard let root = document.root else {
      if document.diagnostics.isEmpty {
        return (
          nil,
          [
            Diagnostic(
              .notASpec, "spec file is empty", at: start, help: "see docs/spec.md for a template")
          ]
        )
      }
      return (nil, document.diagnostics)
    }
    guard case .mapping = root else {
      let d = Diagnostic(
        .notASpec, "a spec must be a YAML mapping with keys such as 'task', 'input' and 'layers'",
        at: reader.location(root))
      return (nil, document.diagnostics + [d])
    }
    var spec = parseRoot(root, reader: reader, file: file)
    spec?.text = text
    if !overrides.isEmpty {
      spec?.resolvedText =
        "# \(PathText.lastComponent(file)) with "
        + overrides.map { "\($0.option) '\($0.text)'" }.joined(separator: " ")
        .replacingOccurrences(of: "\n", with: " ") + "\n"
        + ((try? Yams.serialize(node: root)) ?? text)
    }
    return (spec, document.diagnostics + reader.diagnostics)
  }

  private static func parseRoot(_ root: Node, reader r: NodeReader, file: String) -> ModelSpec? {
    guard let top = section(root, .top, path: "", reader: r) else { return nil }
    var spec = ModelSpec(file: file, top: top.values)
    if let node = top.nested["layers"] {
      spec.layersLocation = r.location(node)
      spec.layers = parseLayers(node, reader: r)
    }
    if let node = top.nested["data"] {
      spec.data = section(node, .data, path: "data", reader: r)?.values
    }
    if let node = top.nested["training"] {
      let training = section(node, .training, path: "training", reader: r)
      spec.training = training?.values ?? SpecSectionValues(location: r.location(node))
      if let node = training?.nested["checkpoint"] {
        spec.checkpoint = section(node, .checkpoint, path: "training.checkpoint", reader: r)?.values
      }
      if let node = training?.nested["early_stopping"] {
        spec.earlyStopping =
          section(node, .earlyStopping, path: "training.early_stopping", reader: r)?.values
      }
      if let node = training?.nested["schedule"] {
        spec.schedule = section(node, .schedule, path: "training.schedule", reader: r)?.values
      }
    }
    return spec
  }

  private static func parseLayers(_ node: Node, reader r: NodeReader) -> [SpecSectionValues]? {
    guard case .sequence(let sequence) = node else {
      _ = r.fields(node, "layers", allowed: [])  // reports the type error
      return nil
    }
    if sequence.isEmpty {
      r.report(
        Diagnostic(
          .badSize, "'layers' is empty; a network needs at least one layer", at: r.location(node)))
      return nil
    }
    let layers = sequence.enumerated().compactMap { index, item in
      section(item, .layer, path: "layers[\(index)]", reader: r)?.values
    }
    // A layer that is not a mapping is reported; the network is then unknown.
    return layers.count == sequence.count ? layers : nil
  }

  /// Reads one mapping against the keys of `kind`: every known key by its type, nested sections
  /// left as nodes, missing required keys reported.
  private static func section(
    _ node: Node, _ kind: SpecSection, path: String, reader r: NodeReader
  ) -> (values: SpecSectionValues, nested: [String: Node])? {
    let keys = SpecKeys.keys(in: kind)
    guard let f = r.fields(node, path, allowed: keys.map(\.name)) else { return nil }
    var values = SpecSectionValues(location: f.location)
    values.keys = Set(f.values.keys)
    var nested: [String: Node] = [:]
    for key in keys {
      guard let value = f[key.name] else {
        if key.required {
          r.missing(key.name, in: path, at: f.location, help: missingHelp[key.name])
        }
        continue
      }
      if key.kind == .mapping || key.kind == .layerList {
        nested[key.name] = value
      } else if let read = key.read(value, path.isEmpty ? key.name : "\(path).\(key.name)", r) {
        values.values[key.name] = read
      }
    }
    return (values, nested)
  }

  private static let missingHelp = [
    "task": "add 'task: classification' or 'task: regression'",
    "input": "add 'input: N' with the number of input features",
    "data": "add 'data: {generator: xor}' or 'data: {train: FILE.csv, target: COLUMN}'",
  ]
}

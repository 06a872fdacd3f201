// What an output path may not be: one of the command's input files, or a file of a run
// directory the command reads (the model, metrics, summary, spec, configuration, curves,
// checkpoints). Paths are compared after resolving symlinks and `..`, so another spelling of
// the same file is caught too. A new file inside a run directory (say, predictions.csv) is
// allowed; the command's own default output in a run (model.onnx) is passed as `ownFile`.

import Foundation

/// The files mlpc writes into a run directory (checkpoints/ as a whole).
public let runFileNames: Set<String> = [
  "model.safetensors", "metrics.jsonl", "summary.json", "spec.yaml", "spec.resolved.yaml",
  "config.json",
  "curves.svg", "checkpoints",
]

/// Why `out` may not be written by a command reading `inputs` (files or run directories), or
/// nil. `ownFile` is a file name the command itself writes into a run it reads.
public func outputConflict(_ out: String, inputs: [String], ownFile: String? = nil) -> String? {
  let target = canonicalPath(out)
  for input in inputs {
    let source = canonicalPath(input)
    if target == source {
      return "--out '\(out)' is the input '\(input)'; write the output elsewhere"
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory),
      isDirectory.boolValue, target.hasPrefix(source + "/")
    else { continue }
    let inside = String(target.dropFirst(source.count + 1))
    let first = String(inside.split(separator: "/").first ?? "")
    if inside != ownFile,
      runFileNames.contains(first) || FileManager.default.fileExists(atPath: target)
    {
      return
        "--out '\(out)' would replace '\(inside)' of the run '\(input)'; write the output elsewhere"
    }
  }
  return nil
}

/// `path` with symlinks and `.`/`..` resolved; for a file that does not exist yet, its folder
/// resolved and its name appended.
public func canonicalPath(_ path: String) -> String {
  if let resolved = realpath(path, nil) {
    defer { free(resolved) }
    return String(cString: resolved)
  }
  let absolute = URL(fileURLWithPath: path).standardized.path
  let folder = PathText.parent(absolute)
  guard let resolved = realpath(folder.isEmpty ? "." : folder, nil) else { return absolute }
  defer { free(resolved) }
  return PathText.join(String(cString: resolved), PathText.lastComponent(absolute))
}

// The settings of a run as one flat list of keys, for dashboards that compare runs by them
// (TensorBoard's HParams tab, MLflow's params): every scalar of the spec as run, by its path
// (`layers.0.units`, `data.features.sex.missing`), and every training setting with its default
// applied (`training.learning_rate`, `training.schedule.type`, `training.early_stopping.patience`).

import Foundation
import Yams

public enum TrackedSettings {
  /// Keys in order; a training setting's resolved value replaces what the text wrote for it.
  public static func of(_ spec: CheckedSpec) -> [(key: String, value: SettingValue)] {
    var out: [String: SettingValue] = [:]
    if let root = try? Yams.compose(yaml: spec.resolvedText) { flatten(root, "", into: &out) }
    for (section, settings) in spec.training.settings {
      let prefix = section == "training" ? "training." : "training.\(section)."
      for (key, value) in settings where value != .null { out[prefix + key] = value }
    }
    return out.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
  }

  private static func flatten(_ node: Node, _ path: String, into out: inout [String: SettingValue])
  {
    func join(_ key: String) -> String { path.isEmpty ? key : path + "." + key }
    switch node {
    case .mapping(let mapping):
      for (key, value) in mapping { flatten(value, join(key.string ?? "?"), into: &out) }
    case .sequence(let sequence):
      for (i, value) in sequence.enumerated() { flatten(value, join(String(i)), into: &out) }
    case .scalar(let scalar):
      guard !path.isEmpty else { return }
      out[path] =
        if scalar.style != .plain { .string(scalar.string) } else if let b = node.bool {
          .bool(b)
        } else if let i = node.int {
          .int(i)
        } else if let d = node.float, d.isFinite {
          .number(d)
        } else if node.null != nil {
          .null
        } else {
          .string(scalar.string)
        }
    case .alias: break
    }
  }
}

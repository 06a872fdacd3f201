// The JSON Schema (draft 2020-12) of spec format v1, printed by `mlpc schema`. Choice lists
// come from the enums, so the schema cannot drift from the parser's names.

/// JSON Schema of spec format v1.
public enum SpecSchema {
  private static func names<E: CaseIterable & RawRepresentable>(_: E.Type) -> String
  where E.RawValue == String {
    "[" + E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") + "]"
  }

  /// The schema document.
  public static var json: String {
    """
    {
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "$id": "https://mlpc.dev/schema/spec-v1.json",
      "title": "mlpc spec, format version 1",
      "description": "A multilayer perceptron: layers, activations, loss, data and training settings. See docs/spec.md.",
      "type": "object",
      "additionalProperties": false,
      "required": ["task", "input", "layers", "data"],
      "properties": {
        "version": {"const": 1, "description": "Spec format version (default 1)."},
        "name": {"type": "string", "description": "Model name (default: the spec file's name)."},
        "description": {"type": "string"},
        "task": {"enum": \(names(Task.self))},
        "input": {"type": "integer", "minimum": 1, "description": "n^0, the number of input features."},
        "layers": {
          "type": "array",
          "minItems": 1,
          "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["units"],
            "properties": {
              "name": {"type": "string"},
              "units": {"type": "integer", "minimum": 1, "description": "n^k"},
              "activation": {"enum": \(names(Activation.self)), "default": "identity"},
              "negative_slope": {"type": "number", "default": 0.01},
              "init": {"enum": \(names(InitKind.self)), "default": "auto"}
            }
          }
        },
        "loss": {"enum": \(names(LossKind.self))},
        "data": {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "train": {"type": "string", "description": "CSV file with a header, relative to the spec."},
            "test": {"type": "string"},
            "target": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
            "features": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "generator": {"enum": \(names(GeneratorKind.self))},
            "samples": {"type": "integer", "minimum": 1},
            "noise": {"type": "number", "minimum": 0},
            "classes": {"type": "integer", "minimum": 2},
            "dimensions": {"type": "integer", "minimum": 1},
            "validation_split": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0},
            "standardize": {"type": "boolean", "default": false},
            "delimiter": {"type": "string", "minLength": 1, "maxLength": 2, "default": ","}
          },
          "oneOf": [{"required": ["train", "target"]}, {"required": ["generator"]}]
        },
        "training": {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "epochs": {"type": "integer", "minimum": 1, "default": 100},
            "batch_size": {"type": "integer", "minimum": 1, "default": 32},
            "learning_rate": {"type": "number", "exclusiveMinimum": 0, "default": 0.01},
            "optimizer": {"enum": \(names(OptimizerKind.self)), "default": "sgd"},
            "momentum": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.9},
            "beta1": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.9},
            "beta2": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.999},
            "epsilon": {"type": "number", "exclusiveMinimum": 0, "default": 1e-8},
            "weight_decay": {"type": "number", "minimum": 0, "default": 0},
            "seed": {"type": "integer", "minimum": 0, "default": 0},
            "shuffle": {"type": "boolean", "default": true}
          }
        }
      }
    }
    """
  }
}

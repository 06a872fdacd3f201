// Names users bring from Keras, PyTorch and scikit-learn, and what mlpc calls them: an unknown
// key or value that is one of these gets a hint naming mlpc's word and where the other comes
// from, instead of an edit-distance guess ("did you mean 'elu'?" for `selu` misleads); a key
// written in the wrong section is told where it belongs. docs/diagnostics.md lists the table.

/// Foreign names for keys and values of the spec format.
public enum Synonyms {
  /// Key names of other tools → the mlpc key (its path) and the tool.
  public static let keys: [String: (ours: String, from: String)] = [
    "lr": ("training.learning_rate", "PyTorch"),
    "learning_rate_init": ("training.learning_rate", "scikit-learn"),
    "max_iter": ("training.epochs", "scikit-learn"),
    "n_epochs": ("training.epochs", "common usage"),
    "num_epochs": ("training.epochs", "common usage"),
    "batch": ("training.batch_size", "common usage"),
    "optim": ("training.optimizer", "PyTorch"),
    "criterion": ("loss", "PyTorch"),
    "loss_fn": ("loss", "PyTorch"),
    "hidden_layer_sizes": ("layers", "scikit-learn"),
    "input_dim": ("input", "Keras"),
    "input_shape": ("input", "Keras"),
    "in_features": ("input", "PyTorch's nn.Linear"),
    "out_features": ("units", "PyTorch's nn.Linear"),
    "kernel_initializer": ("init", "Keras"),
    "rate": ("dropout", "Keras's Dropout"),
    "dropout_rate": ("dropout", "common usage"),
    "decay": ("training.weight_decay", "Keras"),
    "l2": ("training.weight_decay", "Keras's regularizers"),
    "clipnorm": ("training.clip_norm", "Keras"),
    "clipvalue": ("training.clip_value", "Keras"),
    "validation_fraction": ("data.validation_split", "scikit-learn"),
    "random_state": ("training.seed", "scikit-learn"),
    "label": ("data.target", "common usage"),
    "y": ("data.target", "common usage"),
  ]

  /// Values of other tools → the mlpc value and the tool, by the key they are given for.
  public static let values: [String: (ours: String, from: String)] = [
    "categorical_crossentropy": ("cross_entropy", "Keras"),
    "sparse_categorical_crossentropy": (
      "cross_entropy", "Keras (integer labels are read as classes here)"
    ),
    "crossentropyloss": ("cross_entropy", "PyTorch"),
    "nll_loss": ("cross_entropy", "PyTorch, with a softmax output"),
    "log_loss": ("cross_entropy", "scikit-learn"),
    "binary_crossentropy": ("binary_cross_entropy", "Keras"),
    "bceloss": ("binary_cross_entropy", "PyTorch"),
    "bcewithlogitsloss": ("binary_cross_entropy", "PyTorch, with a sigmoid output"),
    "mean_squared_error": ("mse", "Keras"),
    "mseloss": ("mse", "PyTorch"),
    "squared_error": ("mse", "scikit-learn"),
    "linear": ("identity", "Keras"),
    "logistic": ("sigmoid", "scikit-learn"),
    "swish": ("silu", "Keras"),
    "gelu_new": ("gelu_tanh", "Hugging Face Transformers"),
    "gelu_pytorch_tanh": ("gelu_tanh", "Hugging Face Transformers"),
    "relu6": ("relu", "nothing closer here"),
    "glorot_uniform": ("glorot", "Keras"),
    "xavier_uniform": ("glorot", "PyTorch"),
    "he_uniform": ("he", "Keras"),
    "kaiming_uniform": ("he", "PyTorch"),
  ]

  /// Task words of other tools, with the whole hint.
  public static let tasks: [String: String] = [
    "binary":
      "mlpc's task is 'classification'; for two classes use 'loss: binary_cross_entropy' with one sigmoid unit, or softmax over two",
    "binary_classification": "mlpc's task is 'classification' (see docs/spec.md for two classes)",
    "multiclass": "mlpc's task is 'classification'",
    "multi_class": "mlpc's task is 'classification'",
    "regressor": "mlpc's task is 'regression'",
    "classifier": "mlpc's task is 'classification'",
  ]

  /// Activations other tools have and mlpc does not, with the nearest mlpc has.
  public static let missingActivations: [String: String] = [
    "selu": "elu", "mish": "silu", "hardswish": "silu", "hard_swish": "silu",
    "prelu": "leaky_relu",
    "softsign": "tanh", "hard_sigmoid": "sigmoid", "hardtanh": "tanh", "exponential": "softplus",
  ]

  /// The hint for key `name` unknown in `section`: another tool's name for an mlpc key, or an
  /// mlpc key of another section (where it belongs).
  static func keyHint(_ name: String, in section: SpecSection?) -> String? {
    let lower = name.lowercased()
    if let s = keys[lower] { return "'\(name)' is \(s.from)'s name; mlpc calls it '\(s.ours)'" }
    let elsewhere = SpecKeys.all.filter { $0.name == name && $0.section != section }
    if let home = elsewhere.first {
      let path = home.section.prefix(index: 0).replacingOccurrences(of: "[0]", with: "[…]")
      let place = path.isEmpty ? "at the top level" : "under '\(path.dropLast())'"
      return "'\(name)' belongs \(place)"
    }
    return nil
  }

  /// The hint for value `text`, unknown among `names`.
  static func valueHint(_ text: String, names: [String]) -> String? {
    let lower = text.lowercased()
    if let hint = tasks[lower], names.contains("classification") { return hint }
    if let s = values[lower], names.contains(s.ours) {
      return "'\(text)' is \(s.from)'s name; mlpc calls it '\(s.ours)'"
    }
    if let near = missingActivations[lower], names.contains(near) {
      return "mlpc has no '\(text)' activation (other tools do); the nearest here is '\(near)'"
    }
    return nil
  }
}

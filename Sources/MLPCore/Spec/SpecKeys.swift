// Every key of spec format v1, declared once: section, name, type, default, range (with the
// diagnostic code of a value outside it) and a one-line summary. The parser's allowed keys and
// value types, the checker's range checks and defaults, `mlpc schema` and the key tables of
// docs/spec.md are derived from this table (a test keeps the docs equal to it). Layer keys for
// activation parameters come from the activations' own definitions.

/// The width limit of `input`, `units`, `dimensions` and `samples`: 16 M is a typo, not a model.
public let maximumWidth = 1 << 24

private func atLeast(_ x: Double, below: Double? = nil, upTo: Double? = nil) -> Bounds {
  Bounds(
    minimum: x, maximum: below ?? upTo, exclusiveMaximum: below != nil)
}
private func above(_ x: Double) -> Bounds { Bounds(minimum: x, exclusiveMinimum: true) }
private let width = atLeast(1, upTo: Double(maximumWidth))
private let fraction = atLeast(0, below: 1)

extension Bounds {
  /// The same bounds with the minimum excluded.
  var excludingMinimum: Bounds {
    var b = self
    b.exclusiveMinimum = true
    return b
  }
}

extension SpecKey where Value == Section {
  static let layers = section(
    "layers", .layerList, required: true, "layers k = 1…N, the last is the output layer")
  static let data = section(
    "data", .mapping, required: true, "a CSV file pair or a built-in generator")
  static let training = section(
    "training", .mapping, shown: "all defaults", "optimizer and schedule")
  static let checkpoint = section(
    "checkpoint", .mapping, in: .training, shown: "none",
    "write `checkpoints/` during training, for `mlpc run --resume`")
  static let earlyStopping = section(
    "early_stopping", .mapping, in: .training, shown: "none",
    "stop when a monitored metric stops improving")
  static let schedule = section(
    "schedule", .mapping, in: .training, shown: "constant",
    "the learning rate of each epoch (PyTorch's `lr_scheduler`), see Schedules below")
}

/// How the learning rate changes from epoch to epoch.
public enum ScheduleKind: String, CaseIterable, Sendable {
  case constant, step, exponential, cosine, plateau
}

extension SpecKey where Value == ScheduleKind {
  static let scheduleType = choice(
    .schedule, "type", default: .constant, "schedule",
    "`constant`; `step`: η·γ^⌊e/step_size⌋; `exponential`: η·γ^e; `cosine`: from η down to `min_learning_rate` over the epochs after warm-up; `plateau`: η·factor when `monitor` has not improved for `patience` epochs"
  )
}

/// What early stopping watches: a split's metric after every epoch.
public enum MonitoredMetric: String, CaseIterable, Sendable {
  case validationLoss = "validation_loss"
  case validationAccuracy = "validation_accuracy"
  case validationMSE = "validation_mse"
  case validationMAE = "validation_mae"
  case validationR2 = "validation_r2"
  case testLoss = "test_loss"
  case testAccuracy = "test_accuracy"
  case testMSE = "test_mse"
  case testMAE = "test_mae"
  case testR2 = "test_r2"
  case trainLoss = "train_loss"
}

/// Whether a monitored metric improves downwards or upwards.
public enum MonitorMode: String, CaseIterable, Sendable {
  /// Loss, MSE and MAE improve downwards; accuracy and R² upwards.
  case auto
  case min, max
}

extension SpecKey where Value == MonitoredMetric {
  static let monitor = choice(
    .earlyStopping, "monitor", default: .validationLoss, "metric",
    "the metric watched after every epoch (a `test_` metric leaks the test set: a warning)")
  static let scheduleMonitor = choice(
    .schedule, "monitor", default: .validationLoss, "metric",
    "`plateau`: the metric watched after every epoch")
}

extension SpecKey where Value == MonitorMode {
  static let mode = choice(
    .earlyStopping, "mode", default: .auto, "mode",
    "`min` or `max`: which way is better; `auto` takes `max` for accuracy and R², `min` otherwise")
  static let scheduleMode = choice(
    .schedule, "mode", default: .auto, "mode", "`plateau`: as early stopping's `mode`")
}

extension SpecKey where Value == Int {
  static let version = integer(
    .top, "version", default: 1, atLeast(1, upTo: 1), code: .unsupportedVersion,
    help: "this mlpc reads spec format version 1", "format version; only `1` exists")
  static let input = integer(
    .top, "input", shown: "derived from the data", width, code: .badSize,
    "n^0, the number of input features; when written, must equal the data's feature count or encoded width (E011)"
  )
  static let units = integer(.layer, "units", width, code: .badSize, required: true, "n^k")
  static let samples = integer(
    .data, "samples", shown: "per generator", width, code: .badSize,
    "generator: number of samples")
  static let classes = integer(
    .data, "classes", shown: "per generator", atLeast(2, upTo: 1000),
    "generator (`spirals`, `blobs`): number of classes")
  static let dimensions = integer(
    .data, "dimensions", shown: "per generator", width, code: .badSize,
    "generator (`blobs`, `sine`): number of features")
  static let epochs = integer(
    .training, "epochs", default: 100, atLeast(1, upTo: 10_000_000),
    "passes over the training data")
  static let batchSize = integer(
    .training, "batch_size", default: 32, atLeast(1, upTo: Double(maximumWidth)),
    "samples per step; the last batch of an epoch may be smaller (no sample is dropped)")
  static let checkpointEvery = integer(
    .checkpoint, "every", default: 1, atLeast(1, upTo: 10_000_000),
    "write a checkpoint every N epochs")
  static let checkpointKeep = integer(
    .checkpoint, "keep", default: 2, atLeast(1, upTo: 1000),
    "keep the K latest epoch checkpoints (an interrupt's checkpoint is always kept)")
  static let patience = integer(
    .earlyStopping, "patience", default: 10, atLeast(1, upTo: 10_000_000),
    "epochs without improvement before training stops")
  static let stepSize = integer(
    .schedule, "step_size", default: 10, atLeast(1, upTo: 10_000_000),
    "`step`: epochs between reductions")
  static let warmupEpochs = integer(
    .schedule, "warmup_epochs", default: 0, atLeast(0, upTo: 10_000_000),
    "linear warm-up (with any type): the rate grows from η·`warmup_start_factor` to η over these first epochs, then the schedule starts"
  )
  static let schedulePatience = integer(
    .schedule, "patience", default: 10, atLeast(0, upTo: 10_000_000),
    "`plateau`: epochs without improvement tolerated; the rate drops after one more")
  static let cooldown = integer(
    .schedule, "cooldown", default: 0, atLeast(0, upTo: 10_000_000),
    "`plateau`: epochs after a reduction before bad epochs count again")
  static let seed = integer(
    .training, "seed", default: 0, atLeast(0),
    "seeds initialisation, shuffling, validation split and generators")
}

extension SpecKey where Value == EnsembleValue {
  static let ensemble = SpecKey(
    .top, "ensemble", .ensemble, default: EnsembleValue(members: 1), json: "1",
    bounds: atLeast(1, upTo: Double(Network.maximumMembers)), code: .hyperparameter,
    "k members trained at once (TabM-mini): they share every layer but the output layer; member m reads x^0 ⊙ r_m (its own adapter, random signs ±1 at the start) and has its own output layer; the batch runs as k·B rows, the loss is the members' mean, and predictions average the members' probabilities (classification) or values (regression); `{members: k, kind: batch_ensemble}`: TabM, whose hidden layers are BatchEnsemble layers (a shared W; member m's input scale r_m, output scale s_m and bias b_m: (x ⊙ r_m)·Wᵀ ⊙ s_m + b_m, r of the first layer being the adapter); `{members: k, kind: independent}`: k separate networks (every layer the members' own, no adapters) trained at once the same way; 1: a single network",
    read: { $2.ensemble($0, $1) }
  )
}

extension SpecKey where Value == Double {
  static let dropout = number(
    .layer, "dropout", default: 0, fraction, float: true,
    "p: during training each value of the layer's output is zeroed with probability p and the rest × 1/(1 − p) (inverted dropout, seeded); off in evaluation, prediction and export; not on the output layer"
  )
  static let noise = number(
    .data, "noise", shown: "per generator", atLeast(0), "generator: noise σ")
  static let validationSplit = number(
    .data, "validation_split", default: 0, fraction,
    "fraction of the training samples held out (seeded) and evaluated after every epoch")
  static let learningRate = number(
    .training, "learning_rate", default: 0.01, above(0), float: true, help: "try 0.01", "η")
  static let momentum = number(
    .training, "momentum", shown: "`0.9`; `0` with `rmsprop`", fraction, float: true,
    "μ, for `momentum`, `nesterov` and `rmsprop` (a warning otherwise)")
  static let alpha = number(
    .training, "alpha", default: 0.99, fraction, float: true,
    "RMSprop's decay rate of the mean square gradient")
  static let beta1 = number(
    .training, "beta1", default: 0.9, fraction, float: true, "Adam's decay rate of the first moment"
  )
  static let beta2 = number(
    .training, "beta2", default: 0.999, fraction, float: true,
    "Adam's decay rate of the second moment")
  static let epsilon = number(
    .training, "epsilon", default: 1e-8, above(0), float: true, "Adam's and RMSprop's ε")
  static let minDelta = number(
    .earlyStopping, "min_delta", default: 0, atLeast(0),
    "the least change that counts as an improvement")
  static let weightDecay = number(
    .training, "weight_decay", default: 0, atLeast(0), float: true,
    "λ: adds λθ to the gradient of every weight, bias and embedding table (L2); with `adamw`, decays them by ηλ directly; the multiplicative scales (`front_scale`, an ensemble's adapters, TabM's input and output scales, periodic embeddings' frequencies) are not decayed, and a coupled decay of an ensemble member's own tensors is λ/k"
  )
  static let ema = number(
    .training, "ema", shown: "off",
    Bounds(minimum: 0, exclusiveMinimum: true, maximum: 1, exclusiveMaximum: true), float: true,
    "decay d of an exponential moving average of the weights, taken after every step (a ← d·a + (1 − d)·θ; PyTorch's AveragedModel with get_ema_multi_avg_fn(d)); evaluation, early stopping and the model use the average"
  )
  static let clipNorm = number(
    .training, "clip_norm", shown: "off", above(0), float: true,
    "scales the gradient down when its global L2 norm exceeds this (clip_grad_norm_)")
  static let clipValue = number(
    .training, "clip_value", shown: "off", above(0), float: true,
    "clamps every gradient value to [−v, v] (clip_grad_value_), before clip_norm")

  static let gamma = number(
    .schedule, "gamma", shown: "`0.1` (step), `0.95` (exponential)", above(0),
    "`step`, `exponential`: the factor per reduction / per epoch")
  static let minLearningRate = number(
    .schedule, "min_learning_rate", default: 0, atLeast(0),
    "`cosine`: the rate at the end; `plateau`: the rate is never reduced below this")
  static let warmupStartFactor = number(
    .schedule, "warmup_start_factor", default: 0.1,
    Bounds(minimum: 0, exclusiveMinimum: true, maximum: 1),
    "the first warm-up epoch's rate as a fraction of η (PyTorch's `LinearLR` start_factor)")
  static let factor = number(
    .schedule, "factor", default: 0.1, atLeast(0, below: 1).excludingMinimum,
    "`plateau`: the rate is multiplied by this on a plateau")
  static let threshold = number(
    .schedule, "threshold", default: 1e-4, atLeast(0),
    "`plateau`: the relative change that counts as an improvement (PyTorch's `threshold_mode: rel`)"
  )

  /// The layer key of an activation's parameter.
  static func activationParameter(_ p: ActivationParameter) -> SpecKey {
    number(
      .layer, p.key, default: p.defaultValue, Bounds(), float: true,
      p.summary + " (a warning on other activations)")
  }
}

extension SpecKey where Value == Bool {
  static let frontScale = boolean(
    .top, "front_scale", default: false,
    "a learned scale s of every input, x^0 ⊙ s before layer 1 (RealMLP's front scale), s starting at 1; a parameter like the weights"
  )
  static let stratify = boolean(
    .data, "stratify", default: false,
    "with validation_split, hold out the same share of every class (classification)")
  static let standardize = boolean(
    .data, "standardize", default: false,
    "scale each feature to mean 0, standard deviation 1 with statistics of the training split only (saved with the model)"
  )
  static let centered = boolean(
    .training, "centered", default: false,
    "RMSprop: divide by the estimated variance of the gradient instead of its mean square")
  static let shuffle = boolean(
    .training, "shuffle", default: true, "reshuffle the training samples every epoch")
  static let tensorboard = boolean(
    .training, "tensorboard", default: true,
    "write TensorBoard event files (events.out.tfevents.*) into the run: every metric per epoch, the settings, the HParams session"
  )
  static let restoreBest = boolean(
    .earlyStopping, "restore_best", default: true,
    "save the best epoch's weights as the model, not the last epoch's")
  static let refit = boolean(
    .earlyStopping, "refit", default: false,
    "once stopped, train a new network from the same start on the training and validation rows for the best epoch's number of epochs, and save it as the model"
  )
}

extension SpecKey where Value == String {
  static let name = string(
    .top, "name", shown: "the file name without `.yaml`", "names the run directory and the model")
  static let description = string(.top, "description", "free text, ignored")
  static let layerName = string(
    .layer, "name", shown: "`layer<k>`",
    "names the tensors `<name>.weight` and `<name>.bias`; must be unique")
  static let train = string(
    .data, "train", shown: "required (or `generator`)",
    "CSV with a header row; RFC 4180 quoting, CRLF or LF, blank lines skipped")
  static let test = string(
    .data, "test", "evaluated after every epoch; must have the same named columns")
  static let delimiter = string(
    .data, "delimiter", default: ",", "one character: `,`, `;`, `\\t`, …")
  static let decimal = string(
    .data, "decimal", default: ".",
    "the decimal point of numbers: `.` or `,` (`3,12`: pandas' `decimal`); not the delimiter")
}

extension SpecKey where Value == [Located<String>] {
  static let target = names(
    .data, "target", shown: "**required** with `train`",
    "column name or list of names; classification: one column of class names or integer ids; regression: one or more numeric columns (n^N = their count, E010)"
  )
  static let missingValues = names(
    .data, "missing_values", shown: "pandas' `na_values`: empty, `NA`, `N/A`, `NaN`, `null`, …",
    "the cells that mean missing in columns with a treatment in `features` (e.g. `['?', '']`)")
}

extension SpecKey where Value == FeaturesValue {
  static let features = features(
    .data, "features", shown: "every column except the targets",
    "column name or list of names: the input columns, in order, read as numbers (n^0 = their count, E011); or a mapping from column name to its treatment (see Feature treatments below; n^0 = the encoded width, E011)"
  )
}

extension SpecKey where Value == ClassWeightsValue {
  static let classWeights = classWeights(
    .data, "class_weights",
    "classification: each training sample's loss × its class's weight; `balanced` is scikit-learn's n_samples / (n_classes · count(class)) on the training split; a mapping names classes (others weigh 1)"
  )
}

extension SpecKey where Value == Task {
  static let task = choice(
    .top, "task", required: true, "task",
    "classification: one-hot targets, accuracy; regression: real targets, MSE/MAE/R²")
}

extension SpecKey where Value == LossValue {
  static let loss = loss(
    .top, "loss", shown: "`cross_entropy` for classification, `mse` for regression",
    "see Losses below; a classification loss may be `{type: …, label_smoothing: ε}`")
}

extension SpecKey where Value == Activation {
  static let activation = choice(
    .layer, "activation", default: .identity, "activation", "σ^k; see Activations below")
}

extension SpecKey where Value == InitKind {
  static let initializer = choice(
    .layer, "init", default: .auto, "initializer",
    "weight initialisation: Glorot-uniform U(±√(6/(n^{k-1}+n^k))) or He-uniform U(±√(6/n^{k-1})); `auto` is the activation's default (He for relu-like ones, Glorot otherwise); biases start at 0"
  )
}

extension SpecKey where Value == GeneratorKind {
  static let generator = choice(
    .data, "generator", shown: "— (or `train`)", "generator", "a built-in data set, see below")
}

/// What to do with rows whose target cell is missing.
public enum MissingTarget: String, CaseIterable, Sendable {
  case drop, error
}

extension SpecKey where Value == MissingTarget {
  static let missingTarget = choice(
    .data, "missing_target", shown: "`drop`, with a warning", "missing-target rule",
    "rows whose target cell is missing (with `features` declared or inferred): `drop` them (said once, without a warning, when written) or make each an `error`; `mlpc evaluate` of a model with feature transforms scores only the rows that have their target and warns with the lines of the others"
  )
}

/// How classification labels that are all whole numbers are read.
public enum ClassLabels: String, CaseIterable, Sendable {
  /// Class ids 0 … n^N − 1.
  case ids
  /// Names, as labels that are not numbers are.
  case names
}

extension SpecKey where Value == ClassLabels {
  static let labels = choice(
    .data, "labels", default: .ids, "class labels",
    "classification, when every label is a whole number: class ids 0 … n^N − 1 (`ids`), or names like any other labels (`names`: numbered in numeric order, so labels 3 … 8 are six classes, predicted as 3 … 8); labels that are not all whole numbers are names either way"
  )
}

extension SpecKey where Value == TargetScaling {
  static let targetScale = choice(
    .data, "target_scale", default: .standard, "target scaling",
    "regression: targets are learned as (y − mean) / std (`standard`, fitted on the training split), ln(1 + y) (`log`, for targets ≥ 0) or as they are (`none`); predictions, mse, mae, R² and ONNX stay in the target's units"
  )
}

extension SpecKey where Value == OptimizerKind {
  static let optimizer = choice(
    .training, "optimizer", default: .sgd, "optimizer",
    "`sgd`: θ ← θ − η g; `momentum`: v ← μv + g, θ ← θ − ηv; `nesterov`: v ← μv + g, θ ← θ − η(g + μv); `adam`: Kingma & Ba with bias correction; `adamw`: Adam with decoupled weight decay θ ← θ(1 − ηλ) (PyTorch's semantics; its default λ is 0.01, here `weight_decay` defaults to 0 for every optimizer); `rmsprop`: s ← αs + (1 − α)g², θ ← θ − ηg/(√s + ε), optionally centred and with momentum (torch.optim.RMSprop)"
  )
}

/// The table of every key, in the order the docs list them.
public enum SpecKeys {
  public static let all: [KeyInfo] =
    [
      SpecKey<Int>.version.info, SpecKey<String>.name.info, SpecKey<String>.description.info,
      SpecKey<Task>.task.info, SpecKey<Int>.input.info, SpecKey<Section>.layers.info,
      SpecKey<LossValue>.loss.info, SpecKey<Bool>.frontScale.info,
      SpecKey<EnsembleValue>.ensemble.info,
      SpecKey<Section>.data.info,
      SpecKey<Section>.training.info,
      SpecKey<Int>.units.info, SpecKey<Activation>.activation.info,
      SpecKey<String>.layerName.info, SpecKey<InitKind>.initializer.info,
      SpecKey<Double>.dropout.info,
    ]
    + activationParameters.map(\.info)
    + [
      SpecKey<String>.train.info, SpecKey<String>.test.info,
      SpecKey<[Located<String>]>.target.info, SpecKey<FeaturesValue>.features.info,
      SpecKey<[Located<String>]>.missingValues.info, SpecKey<TargetScaling>.targetScale.info,
      SpecKey<MissingTarget>.missingTarget.info, SpecKey<ClassLabels>.labels.info,
      SpecKey<String>.delimiter.info, SpecKey<String>.decimal.info,
      SpecKey<GeneratorKind>.generator.info,
      SpecKey<Int>.samples.info, SpecKey<Int>.classes.info, SpecKey<Int>.dimensions.info,
      SpecKey<Double>.noise.info, SpecKey<Double>.validationSplit.info,
      SpecKey<Bool>.stratify.info, SpecKey<ClassWeightsValue>.classWeights.info,
      SpecKey<Bool>.standardize.info,
      SpecKey<Int>.epochs.info, SpecKey<Int>.batchSize.info, SpecKey<Double>.learningRate.info,
      SpecKey<OptimizerKind>.optimizer.info, SpecKey<Double>.momentum.info,
      SpecKey<Double>.beta1.info, SpecKey<Double>.beta2.info, SpecKey<Double>.epsilon.info,
      SpecKey<Double>.alpha.info, SpecKey<Bool>.centered.info,
      SpecKey<Double>.weightDecay.info, SpecKey<Double>.ema.info, SpecKey<Double>.clipNorm.info,
      SpecKey<Double>.clipValue.info, SpecKey<Int>.seed.info, SpecKey<Bool>.shuffle.info,
      SpecKey<Bool>.tensorboard.info,
      SpecKey<Section>.checkpoint.info, SpecKey<Section>.earlyStopping.info,
      SpecKey<Int>.checkpointEvery.info, SpecKey<Int>.checkpointKeep.info,
      SpecKey<MonitoredMetric>.monitor.info, SpecKey<MonitorMode>.mode.info,
      SpecKey<Int>.patience.info, SpecKey<Double>.minDelta.info, SpecKey<Bool>.restoreBest.info,
      SpecKey<Bool>.refit.info,
      SpecKey<Section>.schedule.info, SpecKey<ScheduleKind>.scheduleType.info,
      SpecKey<Int>.stepSize.info, SpecKey<Double>.gamma.info,
      SpecKey<Double>.minLearningRate.info, SpecKey<Int>.warmupEpochs.info,
      SpecKey<Double>.warmupStartFactor.info, SpecKey<MonitoredMetric>.scheduleMonitor.info,
      SpecKey<MonitorMode>.scheduleMode.info, SpecKey<Double>.factor.info,
      SpecKey<Int>.schedulePatience.info, SpecKey<Double>.threshold.info,
      SpecKey<Int>.cooldown.info,
    ]

  /// One layer key per activation parameter (leaky_relu's `negative_slope`, elu's `alpha`).
  static let activationParameters: [SpecKey<Double>] = Activation.allCases.compactMap {
    $0.parameter.map(SpecKey.activationParameter)
  }

  /// The keys of one section.
  public static func keys(in section: SpecSection) -> [KeyInfo] {
    all.filter { $0.section == section }
  }
}

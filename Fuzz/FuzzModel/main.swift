// libFuzzer target: bytes → a model or a checkpoint, through the hardened safetensors reader.
// Any bytes are decoded as a model file (and, when they are one, compiled for inference and run on
// one row of zeros, which must give finite outputs: the reader refuses non-finite weights) and as a
// checkpoint. Built by scripts/fuzz.sh with `-sanitize=fuzzer,address`; libFuzzer is started by
// FuzzDriver.

import Foundation
import FuzzDriver
import MLPCore

func fuzzModel(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  guard let data else { return 0 }
  let bytes = Data(bytes: data, count: size)
  if let model = try? Model.decode(bytes, file: "fuzz.safetensors") {
    let predictor = Predictor(model, batchSize: 2)
    let out = predictor.run([Float](repeating: 0, count: model.network.input), rows: 1)
    _ = predictor.cells(out, probabilities: true)
  }
  _ = Checkpoint.decode(bytes)
  return 0
}

fuzz { fuzzModel($0, $1) }

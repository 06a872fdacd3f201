// Tampered model files through the commands that read them: predict, evaluate and export each end
// with exit status 1 and one line naming what is wrong, never a crash (a signal) or an output, and
// a run whose model.safetensors is a link out of the run is not read.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct TamperedModelTests {
  static let tamperings:
    [(name: String, expected: String, change: @Sendable (inout ModelBytes) -> Void)] = [
      ("a NaN weight", "not finite", { $0.values[3] = .nan }),
      ("a shape of 2^61", "needs more bytes", { $0.tensors["o.weight"] = ([1 << 61], [8, 24]) }),
      (
        "offsets near Int64.max", "outside the file",
        {
          $0.tensors["o.weight"] = ([2, 2], [Int64.max - 16, Int64.max])
        }
      ),
      (
        "fewer classes than outputs", "1 classes for 2 output units",
        { $0.description["classes"] = ["a"] }
      ),
    ]

  @Test func everyReaderRefusesATamperedModel() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "x,y,label\n1,0,a\n0,1,b\n".write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    for t in Self.tamperings {
      var bytes = ModelBytes()
      t.change(&bytes)
      let model = dir + "/m.safetensors"
      try bytes.data.write(to: URL(fileURLWithPath: model))
      for arguments in [
        ["predict", model, dir + "/d.csv"], ["evaluate", model, dir + "/d.csv"],
        ["export", model, "--out", dir + "/m.onnx"],
      ] {
        let result = try CommandRunner.mlpc(arguments)
        #expect(result.status == 1, "\(t.name), \(arguments[0]): \(result.stderr)")
        #expect(result.stderr.contains(t.expected), "\(t.name), \(arguments[0]): \(result.stderr)")
        #expect(result.stdout.isEmpty, "\(t.name), \(arguments[0])")
        #expect(!FileManager.default.fileExists(atPath: dir + "/m.onnx"))
      }
    }
    // The untampered file predicts, so the refusals above are the tampering's.
    try ModelBytes().data.write(to: URL(fileURLWithPath: dir + "/m.safetensors"))
    let result = try CommandRunner.mlpc(["predict", dir + "/m.safetensors", dir + "/d.csv"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout == "predicted\nb\nb\n")
  }
}

// libFuzzer target: spec text → diagnostics. Any bytes go through the YAML reader, the parser and
// every check that reads no files (the data section is dropped), and every diagnostic is
// rendered as text, GitHub and JSON. A crash, a hang or a sanitizer report is a bug. Built by
// scripts/fuzz.sh with `-sanitize=fuzzer,address`; libFuzzer is started by FuzzDriver.

import Foundation
import FuzzDriver
import MLPCore

func fuzzSpec(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  guard let data else { return 0 }
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  let result = Checker.check(text: text, file: "fuzz.yaml", loadingData: false)
  let renderer = DiagnosticRenderer(sources: SourceLines(overrides: ["fuzz.yaml": text]))
  for d in result.diagnostics {
    _ = renderer.text(d)
    _ = renderer.github(d)
  }
  _ = renderer.json(result.diagnostics, files: [("fuzz.yaml", result.spec != nil)])
  return 0
}

fuzz { fuzzSpec($0, $1) }

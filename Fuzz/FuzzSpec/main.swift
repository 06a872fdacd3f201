// libFuzzer target: spec text → diagnostics. Any bytes go through the YAML reader, the parser and
// every check that reads no files (the data section is dropped), and every diagnostic is
// rendered as text, GitHub and JSON. A crash, a hang or a sanitizer report is a bug. Built by
// scripts/fuzz.sh with `-sanitize=fuzzer,address`; libFuzzer's driver is started from `main`.

import Foundation
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

/// libFuzzer's entry for programs with their own `main` (SwiftPM gives every executable one).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
  _ argc: UnsafeMutablePointer<Int32>,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
  _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argc, &argv, { fuzzSpec($0, $1) }))

// libFuzzer target: CSV bytes → matrix or diagnostics. Any bytes are written to a file and read
// as a training CSV whose last column is the label and every other column a feature, through
// the header, the parallel row reader and the record streamer, with every diagnostic rendered;
// inputs of odd size are read as ';'-separated with a decimal comma.
// Built by scripts/fuzz.sh with `-sanitize=fuzzer,address`; libFuzzer is started by
// FuzzDriver.

import Foundation
import FuzzDriver
import MLPCore

let path = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/mlpc-fuzz-\(getpid()).csv"

func fuzzCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  guard let data else { return 0 }
  guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
  else { return 0 }
  var diagnostics: [Diagnostic] = []
  let comma = size % 2 == 1
  guard
    let reader = CSVReader(
      path: path, delimiter: UInt8(ascii: comma ? ";" : ","),
      decimalPoint: UInt8(ascii: comma ? "," : "."), diagnostics: &diagnostics, reference: nil)
  else { return 0 }
  let header = reader.header(diagnostics: &diagnostics)
  if header.count >= 2 {
    let columns = CSVColumns(features: Array(0..<header.count - 1), label: header.count - 1)
    let rows = reader.rows(columns, width: header.count, diagnostics: &diagnostics) {
      $0 < 1 << 20
    }
    precondition(rows.features.count == rows.rows * (header.count - 1))
    precondition(rows.labels.count == rows.rows)
    reader.forEachRecord { record in
      for i in 0..<record.count {
        _ = record.number(i)
        _ = record.numberProblem(i)
      }
      return true
    }
  }
  let renderer = DiagnosticRenderer(sources: SourceLines(overrides: [path: ""]))
  for d in diagnostics { _ = renderer.text(d) }
  return 0
}

fuzz { fuzzCSV($0, $1) }

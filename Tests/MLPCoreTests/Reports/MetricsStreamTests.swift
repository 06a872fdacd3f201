// metrics.jsonl is streamed: the reader hands over every record of a file of any length in
// bounded memory, skips a line too long to be a record, refuses a link out of the run, and the
// even sample that `mlpc curves` draws keeps evenly spaced epochs with the first and the last.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct MetricsStreamTests {
  @Test(arguments: [1, 2, 3, 999, 1000, 1001, 1999, 2000, 2001, 4095, 100_000])
  func evenSampleKeepsTheEndsAndEvenSpacing(_ n: Int) {
    var sample = EvenSample<Int>(limit: 1000)
    for i in 0..<n { sample.add(i) }
    let values = sample.values
    #expect(values.first == 0)
    #expect(values.last == n - 1)
    #expect(values.count <= 2001)
    #expect(values.count >= min(n, 1000))
    // Every gap but the last (to the final value) is the same stride.
    let gaps = Set(zip(values.dropFirst(), values).dropLast().map { $0 - $1 })
    #expect(gaps.count <= 1, "\(gaps)")
  }

  @Test func readsEveryRecordAndSkipsAnOverlongLine() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var text = ""
    for epoch in 1...50_000 {
      text +=
        EpochReport(
          epoch: epoch, trainLoss: 1 / Double(epoch), validation: nil, test: nil, seconds: 0.01,
          steps: 1
        )
        .metricsLine + "\n"
      if epoch == 7 { text += String(repeating: "x", count: 3 << 20) + "\n" }
    }
    text += "not json\n"
    try text.write(toFile: dir + "/metrics.jsonl", atomically: true, encoding: .utf8)
    var epochs: [Int] = []
    let result = EpochReport.read(dir + "/metrics.jsonl") { epochs.append($0.epoch) }
    #expect((try? result.get()) == 50_000)
    #expect(epochs == Array(1...50_000))
    try FileManager.default.createSymbolicLink(
      atPath: dir + "/link.jsonl", withDestinationPath: dir + "/metrics.jsonl")
    guard case .failure(let problem) = EpochReport.read(dir + "/link.jsonl", each: { _ in }) else {
      Issue.record("a link was read")
      return
    }
    #expect(problem.reason.contains("symbolic link"))
  }
}

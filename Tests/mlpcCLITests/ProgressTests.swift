// The progress bar with counts that would overflow integer arithmetic (a huge `epochs` on a
// terminal used to crash the run).

import Testing

@testable import mlpc

@Test func progressLineSurvivesHugeCounts() {
  let line = progressLine(epoch: 1, step: 7, epochs: 10_000_000, steps: Int.max, elapsed: 1000)
  #expect(line.contains("epoch 1/10000000") && line.contains("ETA ?s"))
  let start = progressLine(epoch: 1, step: 0, epochs: 5, steps: 10, elapsed: 0)
  #expect(start.contains("0 steps/s") && start.contains("ETA ?s"))
  let half = progressLine(epoch: 2, step: 5, epochs: 3, steps: 10, elapsed: 3)
  #expect(half.contains("5 steps/s") && half.contains("ETA 3s"))
}

// `mlpc init`'s averaged weights: the decay follows the table's steps per epoch, counted on the
// rows that train (the 20 % validation split held out as the data set rounds it), so the average
// reaches back the same number of epochs on any table, and the written text keeps 1 − d.

import Foundation
import Testing

@testable import MLPCore

@Suite struct SpecTemplateTests {
  @Test func theDecayFollowsTheStepsPerEpoch() {
    // 80 rows: 16 held out, 64 train, batches of 32: two steps, d = 1 − 1/(10·2).
    #expect(SpecTemplate.emaDecay(rows: 80, batch: 32) == ("0.950000", 2))
    // 10,000 rows: 8,000 train in batches of 256: 31.25, so 32 steps, d = 1 − 1/320.
    #expect(SpecTemplate.emaDecay(rows: 10_000, batch: 256) == ("0.996875", 32))
    // 7,499 rows: 1,500 held out (1,499.8 rounded), 5,999 train in batches of 64: 94 steps.
    #expect(SpecTemplate.emaDecay(rows: 7_499, batch: 64) == ("0.998936", 94))
    // Three rows: one held out, one step of the two that train.
    #expect(SpecTemplate.emaDecay(rows: 3, batch: 32) == ("0.900000", 1))
  }

  @Test func aLargeTableKeepsDigitsOfOneMinusTheDecay() throws {
    // 100 million rows: 312,500 steps per epoch, 1 − d = 3.2e-7, which six decimals would
    // round to a decay of exactly 1 (not a decay the spec accepts).
    let (text, steps) = SpecTemplate.emaDecay(rows: 100_000_000, batch: 256)
    #expect(steps == 312_500)
    #expect(text == "0.9999996800")
    let decay = try #require(Double(text))
    #expect(decay < 1 && abs((1 - decay) - 3.2e-7) < 1e-12)
  }
}

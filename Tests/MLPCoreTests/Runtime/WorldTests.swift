// How a global batch is split among ranks, and the world of one a plain start makes (the
// multi-rank paths run under mpirun in scripts/mpi_check.sh).

import MLPCore
import Testing

@Suite struct WorldTests {
  @Test(arguments: [(32, 2), (32, 3), (7, 3), (2, 5), (0, 4), (129, 8)])
  func sharesCoverTheBatchInOrderAndDifferByAtMostOne(_ rows: Int, _ size: Int) {
    let batch = 40..<(40 + rows)
    let shares = (0..<size).map { World.share(of: batch, rank: $0, size: size) }
    #expect(shares.first?.lowerBound == batch.lowerBound)
    #expect(shares.last?.upperBound == batch.upperBound)
    for (a, b) in zip(shares, shares.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
    let counts = shares.map(\.count)
    #expect(counts.max()! - counts.min()! <= 1)
    #expect(counts == counts.sorted(by: >))
  }

  @Test func aPlainStartIsAWorldOfOne() throws {
    let world = World.shared
    #expect(world.size == 1 && world.rank == 0 && world.isRoot)
    #expect(world.share(of: 3..<10) == 3..<10)
    var values = [1.5, 2.5]
    try world.sum(&values)
    #expect(values == [1.5, 2.5])
  }
}

// The plan compiler: shapes, one aligned arena, mirrored parameter/gradient/state layouts, ops.

import MLPCTestSupport
import MLPCore
import Testing

@Suite struct PlanCompilerTests {
  func plan(_ optimizer: String = "adam", batch: Int = 7) throws -> ExecutionPlan {
    let spec = """
      task: classification
      input: 5
      layers:
        - {name: a, units: 9, activation: relu}
        - {name: b, units: 3, activation: softmax}
      data: {generator: blobs, dimensions: 5, samples: 20}
      training: {optimizer: \(optimizer), batch_size: \(batch)}
      """
    let checked = try #require(checkSpec(spec).spec)
    return PlanCompiler.compile(checked)
  }

  @Test func shapesFollowTheSpec() throws {
    let p = try plan()
    #expect(p[p.weights[0]].shape == [9, 5])
    #expect(p[p.biases[0]].shape == [9])
    #expect(p[p.weights[1]].shape == [3, 9])
    #expect(p[p.input].shape == [7, 5])
    #expect(p[p.output].shape == [7, 3])
    #expect(p.parameterCount == 9 * 5 + 9 + 3 * 9 + 3)
    #expect(p.forward.count == 2 && p.backward.count == 2)
  }

  @Test func arenaIsAlignedAndDisjoint() throws {
    let p = try plan()
    let ranges = p.buffers.map { ($0.offset, $0.offset + $0.count) }.sorted { $0.0 < $1.0 }
    for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.1 <= b.0) }
    #expect(p.buffers.allSatisfy { $0.offset % 16 == 0 })
    #expect(ranges.last!.1 <= p.arenaCount)
  }

  @Test func gradientsAndStateMirrorParameters() throws {
    let p = try plan()
    let gradients = try #require(p.gradients)
    #expect(gradients.count == p.parameters.count)
    #expect(p.optimizerState.count == 2)
    for k in 0..<2 {
      let w = p[p.weights[k]]
      let g = p.buffers.first { $0.role == .weightGradient(layer: k + 1) }!
      #expect(g.offset - gradients.offset == w.offset - p.parameters.offset)
    }
    #expect(try plan("sgd").optimizerState.isEmpty)
    #expect(try plan("momentum").optimizerState.count == 1)
  }

  @Test func fusedSoftmaxLeavesTheLastDenseLinear() throws {
    let p = try plan()
    guard case .dense(_, _, _, _, _, let activation, _) = p.forward[1] else {
      Issue.record("not a dense op")
      return
    }
    #expect(activation == .identity)
    guard case .loss(let kind, _, _, _, let lossActivation, _) = p.loss else {
      Issue.record("not a loss op")
      return
    }
    #expect(kind == .crossEntropy && lossActivation == .softmax)
  }

  @Test func flopCounts() throws {
    let p = try plan(batch: 10)
    #expect(p.flops(layer: 1).forward == 2 * 10 * 5 * 9 + 2 * 10 * 9)
    #expect(p.flops(layer: 1).backward == 2 * 10 * 5 * 9 + 10 * 9)
    #expect(p.flops(layer: 2).backward == 4 * 10 * 9 * 3 + 10 * 3)
  }
}

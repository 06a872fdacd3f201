// Packing buffers for the GEMM, one set per thread, allocated the first time a thread multiplies
// (the executor and every pool worker touch theirs at start-up) and reused by every product
// after that, so a training step never allocates; beside them, scratch for other kernels on the
// thread, grown only when one asks for more than it has. Workspaces of threads that end are not
// freed.

import Foundation
import MLPKernelsGeneric

/// Packed A and B panels and an edge tile for one thread.
final class GemmWorkspace: @unchecked Sendable {
  let buffers: GemmBuffers
  /// Scratch for other kernels (not the products), read and written by its own thread only.
  private var scratch: UnsafeMutablePointer<Float>?
  private var scratchCount = 0

  private init() {
    let counts = GemmBuffers.counts
    buffers = GemmBuffers(
      packedA: Self.allocate(counts.packedA), packedB: Self.allocate(counts.packedB),
      edge: Self.allocate(counts.edge))
  }

  private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
    let p = raw.bindMemory(to: Float.self, capacity: count)
    p.initialize(repeating: 0, count: count)
    return p
  }

  /// At least `count` floats of scratch, the same memory until a larger count is asked for
  /// (its contents are then lost): one kernel on the thread holds it at a time.
  func scratch(_ count: Int) -> UnsafeMutablePointer<Float> {
    if let scratch, scratchCount >= count { return scratch }
    scratch?.deallocate()
    let p = Self.allocate(count)
    (scratch, scratchCount) = (p, count)
    return p
  }

  /// The calling thread's workspace.
  static var current: GemmWorkspace {
    if let p = pthread_getspecific(workspaceKey) {
      return Unmanaged<GemmWorkspace>.fromOpaque(p).takeUnretainedValue()
    }
    let workspace = GemmWorkspace()
    pthread_setspecific(workspaceKey, Unmanaged.passRetained(workspace).toOpaque())
    return workspace
  }
}

private let workspaceKey: pthread_key_t = {
  var key = pthread_key_t()
  pthread_key_create(&key, nil)
  return key
}()

/// Allocates the calling thread's packing buffers now, so the first product does not.
public func prepareGemmWorkspace() { _ = GemmWorkspace.current }

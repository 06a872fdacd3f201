// The processes training together: with the MPI package trait and a start by `mpirun` or `srun`
// (which set OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK), every rank of MPI_COMM_WORLD;
// otherwise a world of one, and nothing here touches MPI. Only the main thread calls MPI.

import Foundation

#if MPI
  import CMPIShim
#endif

/// A failed MPI call.
public struct WorldError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

/// This process's rank among those training together, and the collectives they use.
public final class World: @unchecked Sendable {
  /// The process's world, set up on first use.
  public static let shared = World()

  public let rank: Int
  public let size: Int
  /// Whether MPI was initialised (and must be finalised).
  let usesMPI: Bool

  public var isRoot: Bool { rank == 0 }

  private init() {
    #if MPI
      let environment = ProcessInfo.processInfo.environment
      let launched = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"].contains {
        environment[$0] != nil
      }
      if launched, mlpc_mpi_init() == 0 {
        (rank, size, usesMPI) = (Int(mlpc_mpi_rank()), Int(mlpc_mpi_size()), true)
        return
      }
    #endif
    (rank, size, usesMPI) = (0, 1, false)
  }

  /// Why this process cannot train as started: launched as one of several ranks (by `mpirun`
  /// or `srun`) by a build without the MPI trait, where every rank would train alone into the
  /// same run directory. Nil when it can.
  public static var launchProblem: String? {
    guard !isAvailable else { return nil }
    let environment = ProcessInfo.processInfo.environment
    let sizes = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"].compactMap {
      environment[$0].flatMap { Int($0) }
    }
    guard let size = sizes.first(where: { $0 > 1 }) else { return nil }
    return
      "started as one of \(size) processes, but this mlpc was built without MPI; build it with 'swift build -c release --traits MPI' (docs/distributed.md), or run it once without mpirun"
  }

  /// Whether this build can train across processes.
  public static var isAvailable: Bool {
    #if MPI
      true
    #else
      false
    #endif
  }

  /// Rows `range` of a global batch split over the ranks: rank r takes the r-th of `size`
  /// nearly equal consecutive parts (the first `count % size` one row longer).
  public func share(of range: Range<Int>) -> Range<Int> {
    Self.share(of: range, rank: rank, size: size)
  }

  /// Rank `rank`'s share of `range` among `size` ranks.
  public static func share(of range: Range<Int>, rank: Int, size: Int) -> Range<Int> {
    let (n, base) = (range.count, range.lowerBound)
    let (q, r) = n.quotientAndRemainder(dividingBy: size)
    let lo = base + rank * q + min(rank, r)
    return lo..<(lo + q + (rank < r ? 1 : 0))
  }

  /// Sums `count` floats over all ranks, in place.
  public func sum(_ values: UnsafeMutablePointer<Float>, count: Int) throws(WorldError) {
    guard size > 1 else { return }
    #if MPI
      try check(mlpc_mpi_allreduce_sum_float(values, count), "MPI_Allreduce")
    #endif
  }

  /// Sums doubles over all ranks.
  public func sum(_ values: inout [Double]) throws(WorldError) {
    try reduce(&values, largest: false)
  }

  /// The largest of each value over all ranks.
  public func maximum(_ values: inout [Double]) throws(WorldError) {
    try reduce(&values, largest: true)
  }

  private func reduce(_ values: inout [Double], largest: Bool) throws(WorldError) {
    guard size > 1 else { return }
    #if MPI
      let status = values.withUnsafeMutableBufferPointer {
        largest
          ? mlpc_mpi_allreduce_max_double($0.baseAddress!, $0.count)
          : mlpc_mpi_allreduce_sum_double($0.baseAddress!, $0.count)
      }
      try check(status, "MPI_Allreduce")
    #endif
  }

  /// Rank 0's bytes on every rank (nil stays nil everywhere).
  public func broadcast(_ data: Data?) throws(WorldError) -> Data? {
    guard size > 1 else { return data }
    #if MPI
      var length = [Double(isRoot ? (data.map { $0.count } ?? -1) : 0)]
      try maximumFromRoot(&length)
      guard length[0] >= 0 else { return nil }
      var bytes = isRoot ? [UInt8](data!) : [UInt8](repeating: 0, count: Int(length[0]))
      let status = bytes.withUnsafeMutableBytes {
        mlpc_mpi_broadcast($0.baseAddress, $0.count, 0)
      }
      try check(status, "MPI_Bcast")
      return Data(bytes)
    #else
      return data
    #endif
  }

  /// Whether every rank holds the same bytes in `values` (a 52-bit FNV-1a hash compared
  /// through two maxima); true in a world of one.
  public func identical(_ values: UnsafeBufferPointer<Float>) throws(WorldError) -> Bool {
    guard size > 1 else { return true }
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for v in values {
      hash = (hash ^ UInt64(v.bitPattern)) &* 0x0000_0100_0000_01B3
    }
    let h = Double(hash & ((1 << 52) - 1))
    var extremes = [h, Double(1 << 52) - h]
    try maximum(&extremes)
    return extremes[0] == Double(1 << 52) - extremes[1]
  }

  /// Waits until every rank is here.
  public func barrier() throws(WorldError) {
    guard size > 1 else { return }
    #if MPI
      try check(mlpc_mpi_barrier(), "MPI_Barrier")
    #endif
  }

  /// Ends every rank's process (a failure one rank cannot recover from alone).
  public func abort(_ code: Int32) -> Never {
    #if MPI
      if usesMPI { mlpc_mpi_abort(code) }
    #endif
    exit(code)
  }

  /// Finalises MPI before a normal exit.
  public func finish() {
    #if MPI
      if usesMPI { _ = mlpc_mpi_finalize() }
    #endif
  }

  #if MPI
    private func maximumFromRoot(_ length: inout [Double]) throws(WorldError) {
      var bytes = withUnsafeBytes(of: length[0]) { [UInt8]($0) }
      let status = bytes.withUnsafeMutableBytes { mlpc_mpi_broadcast($0.baseAddress, 8, 0) }
      try check(status, "MPI_Bcast")
      length[0] = bytes.withUnsafeBytes { $0.load(as: Double.self) }
    }

    private func check(_ status: Int32, _ call: String) throws(WorldError) {
      guard status != 0 else { return }
      var text = [CChar](repeating: 0, count: 512)
      mlpc_mpi_error_string(status, &text, 512)
      throw WorldError(
        description:
          "\(call) failed on rank \(rank): "
          + String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
  #endif
}

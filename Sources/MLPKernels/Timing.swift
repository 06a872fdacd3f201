// Timing for benchmarks: a monotonic clock, warm-up then the median and spread of repeated
// measurements, one GEMM on synthetic data, and the machine's FMA peak, measured on the spot to
// express results as a share of it. Plan-level timings (steps, ops, epochs) are in MLPCore.

import Foundation
import MLPKernelsAVX512
import MLPThreads

/// Summary statistics of repeated timings, in seconds.
public struct Timing: Sendable {
  public var median: Double
  public var minimum: Double
  public var maximum: Double
  public var samples: Int

  public init(_ values: [Double]) {
    let sorted = values.sorted()
    median = sorted[sorted.count / 2]
    minimum = sorted.first!
    maximum = sorted.last!
    samples = sorted.count
  }
}

/// Timers and benchmarks (plan-level ones are added by MLPCore).
public enum Benchmark {
  /// Seconds since an arbitrary start, monotonic.
  public static func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
  }

  /// Repeats `body` (which runs `iterations` times per call) until `repeats` samples of at least
  /// `minimumSeconds` each exist, after `warmup` calls; returns per-iteration timings.
  public static func measure(
    repeats: Int = 11, minimumSeconds: Double = 0.02, warmup: Int = 3, _ body: () -> Void
  ) -> Timing {
    for _ in 0..<warmup { body() }
    var iterations = 1
    while true {
      let t0 = now()
      for _ in 0..<iterations { body() }
      let elapsed = now() - t0
      if elapsed >= minimumSeconds || iterations >= 1 << 20 { break }
      iterations *= 2
    }
    var samples: [Double] = []
    for _ in 0..<repeats {
      let t0 = now()
      for _ in 0..<iterations { body() }
      samples.append((now() - t0) / Double(iterations))
    }
    return Timing(samples)
  }

  /// One product C (M, N) = A·B (or another form) on random data.
  public static func gemm(
    _ form: GemmForm, m: Int, n: Int, k: Int, threads: WorkerPool?,
    backend: GemmBackend = .selected
  ) -> Timing {
    GemmBackend.setOpenBLASThreads(threads?.count ?? 1)
    let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
    let b = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
    let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
    defer {
      a.deallocate()
      b.deallocate()
      c.deallocate()
    }
    for i in 0..<m * k { a[i] = Float((i &* 7919) % 2001) / 1000 - 1 }
    for i in 0..<k * n { b[i] = Float((i &* 7919) % 2001) / 1000 - 1 }
    let (lda, ldb) = (form == .tn ? m : k, form == .nt ? k : n)
    return measure {
      MLPKernels.gemm(
        form, m: m, n: n, k: k, a, lda: lda, b, ldb: ldb, c, ldc: n, accumulate: false,
        threads: threads, backend: backend)
    }
  }

  /// The machine's FMA peak in FLOP/s, measured on the spot: every thread of `threads` (or the
  /// caller alone) runs ten independent chains of fused multiply-adds from registers at once,
  /// with the widest vectors the CPU has (16 floats with AVX-512, 8 with AVX2). The fastest of
  /// eleven timings counts: the probe touches no memory, so only other work on the machine (a
  /// neighbour on a shared host) slows it, and a peak read low would overstate every share of
  /// it (a median of five read 143 GFLOP/s against 228 in the same minute on Zen 4).
  public static func peakFlops(threads: WorkerPool?) -> Double {
    let parts = threads?.count ?? 1
    let pool = threads ?? WorkerPool(threads: 1)
    let wide = CPUFeatures.widestVector == 16
    let iterations = 1 << 14
    let sums = UnsafeMutablePointer<Float>.allocate(capacity: parts)
    defer { sums.deallocate() }
    let timing = measure(repeats: 11, minimumSeconds: 0.02, warmup: 1) {
      pool.runOnEachThread(parts) { part in
        sums[part] = wide ? fmaChainsAVX512(iterations) : fmaChainsBaseline(iterations)
      }
    }
    if (0..<parts).contains(where: { sums[$0] == -1 }) { print("") }  // keeps the sums
    return Double(parts * iterations * 10 * 2 * (wide ? 16 : 8)) / timing.minimum
  }
}

/// The peak probe with 8-wide FMAs (a function of its own, so its result is kept).
@inline(never)
func fmaChainsBaseline(_ iterations: Int) -> Float {
  fmaChains(Baseline.self, SIMD8<Float>.self, iterations)
}

/// What the CPU running mlpc offers, read once from /proc/cpuinfo (Linux).
public enum CPUFeatures {
  /// The CPU's flags line.
  static let flags: Set<Substring> = {
    let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let line = text.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
    return Set(line.split(separator: " "))
  }()

  /// Whether the CPU has the AVX-512 subsets x86-64-v4 code may use (F, BW, DQ, VL).
  public static let hasAVX512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy {
    flags.contains(Substring($0))
  }

  /// The widest vector instruction set: "avx512", "avx2" or "sse".
  public static var isa: String {
    hasAVX512 ? "avx512" : flags.contains("avx2") ? "avx2" : "sse"
  }

  /// Floats per FMA of the widest vector unit.
  public static var widestVector: Int { isa == "avx512" ? 16 : 8 }

  /// The CPU's model name.
  public static var model: String {
    let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let line = text.split(separator: "\n").first { $0.hasPrefix("model name") }
    return line.map {
      String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces)
    } ?? "unknown"
  }
}

// An ensemble of k members trained as one batch (TabM-mini), forward and backward side by side:
// the batch is spread into k member-major copies, member m's scaled by its adapter r_m
// (y_{m,i} = x_i ⊙ r_m); what the members predict is averaged back into one row per sample.
// Targets and loss weights are spread without an adapter. R = rows in the batch, C = columns,
// K = members.

/// y (K·R, C): member m's rows m·R..<(m + 1)·R are x (R, C), times r_m (K, C) when given.
func ensembleSpreadForward(
  x: UnsafePointer<Float>, r: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, rows: Int,
  cols: Int, members: Int
) {
  for m in 0..<members {
    let out = y + m * rows * cols
    guard let r else {
      out.update(from: x, count: rows * cols)
      continue
    }
    let rm = r + m * cols
    for i in 0..<rows {
      let (xi, yi) = (x + i * cols, out + i * cols)
      for c in 0..<cols { yi[c] = xi[c] * rm[c] }
    }
  }
}

/// With adapters r: dr (K, C) = Σ_i delta_{m,i} ⊙ x_i per member (overwritten); dx (R, C) =
/// Σ_m delta_{m,i} ⊙ r_m when given (Σ_m delta_{m,i} without adapters: independent members).
func ensembleSpreadBackward(
  delta: UnsafePointer<Float>, x: UnsafePointer<Float>, r: UnsafePointer<Float>?,
  dr: UnsafeMutablePointer<Float>?, dx: UnsafeMutablePointer<Float>?, rows: Int, cols: Int,
  members: Int
) {
  if let dr { dr.update(repeating: 0, count: members * cols) }
  for m in 0..<members {
    guard let dr else { break }
    let (dm, drm) = (delta + m * rows * cols, dr + m * cols)
    for i in 0..<rows {
      let (di, xi) = (dm + i * cols, x + i * cols)
      for c in 0..<cols { drm[c] += di[c] * xi[c] }
    }
  }
  guard let dx else { return }
  dx.update(repeating: 0, count: rows * cols)
  for m in 0..<members {
    let dm = delta + m * rows * cols
    guard let r else {
      for j in 0..<rows * cols { dx[j] += dm[j] }
      continue
    }
    let rm = r + m * cols
    for i in 0..<rows {
      let (di, out) = (dm + i * cols, dx + i * cols)
      for c in 0..<cols { out[c] += di[c] * rm[c] }
    }
  }
}

/// y (R, C) = the mean over members of x (K·R, C), member-major.
func ensembleMean(
  x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, members: Int
) {
  let n = rows * cols
  y.update(from: x, count: n)
  for m in 1..<max(members, 1) {
    let xm = x + m * n
    for j in 0..<n { y[j] += xm[j] }
  }
  let scale = 1 / Float(members)
  for j in 0..<n { y[j] *= scale }
}

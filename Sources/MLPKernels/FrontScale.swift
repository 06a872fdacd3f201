// The learned per-feature scale in front of the first layer (RealMLP's front scale), forward and
// backward side by side: y = x ⊙ s for every row; ∂L/∂s_c = Σ_rows δ_{r,c} x_{r,c}, and
// ∂L/∂x = δ ⊙ s when something below needs it (the embedding tables).
// R = rows in the batch, C = n^0.

/// y (R, C) = x (R, C) ⊙ s (C), row by row.
func frontScaleForward(
  x: UnsafePointer<Float>, s: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int,
  cols: Int
) {
  for r in 0..<rows {
    let (xr, yr) = (x + r * cols, y + r * cols)
    for c in 0..<cols { yr[c] = xr[c] * s[c] }
  }
}

/// ds (C) = Σ_rows delta ⊙ x (overwritten); dx (R, C) = delta ⊙ s when given.
func frontScaleBackward(
  delta: UnsafePointer<Float>, x: UnsafePointer<Float>, s: UnsafePointer<Float>,
  ds: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int, cols: Int
) {
  ds.update(repeating: 0, count: cols)
  for r in 0..<rows {
    let (dr, xr) = (delta + r * cols, x + r * cols)
    for c in 0..<cols { ds[c] += dr[c] * xr[c] }
  }
  guard let dx else { return }
  for r in 0..<rows {
    let (dr, out) = (delta + r * cols, dx + r * cols)
    for c in 0..<cols { out[c] = dr[c] * s[c] }
  }
}

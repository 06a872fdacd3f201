// Text that mlpc did not write (names, paths and values from specs, data and model files) made
// safe to print: control characters (which could move the cursor, recolour the terminal or start
// a CI annotation on a new line) and bidirectional overrides are shown as escapes, and very long
// text is cut. Used for every such string a command prints outside the diagnostic renderer.

/// `text` with control characters and bidirectional overrides as `\u{…}` escapes, at most
/// `limit` characters (then `…`).
public func printable(_ text: String, limit: Int = 2000) -> String {
  var out = ""
  var count = 0
  for scalar in text.unicodeScalars {
    if count >= limit {
      out += "…"
      break
    }
    let v = scalar.value
    let hidden =
      v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v)
      || (0x2066...0x2069).contains(v)
    out += hidden ? "\\u{\(String(v, radix: 16))}" : String(scalar)
    count += 1
  }
  return out
}

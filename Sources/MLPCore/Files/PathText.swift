// Path arithmetic on plain strings, as NSString's path methods define it. Those methods trap in
// this toolchain's Foundation on some one-character paths (`r`, `.`, `x/`), which a user can
// type (`--out r`); nothing in mlpc calls them.

/// Folder, name, extension and joining of slash-separated paths.
public enum PathText {
  /// `path` without trailing slashes ("/" stays "/").
  static func trimmed(_ path: String) -> Substring {
    var s = Substring(path)
    while s.count > 1, s.hasSuffix("/") { s.removeLast() }
    return s
  }

  /// The folder part: "" for "name", "/" for "/name", "a" for "a/b" and "a/b/".
  public static func parent(_ path: String) -> String {
    let s = trimmed(path)
    guard s != "/", let slash = s.lastIndex(of: "/") else { return s == "/" ? "/" : "" }
    var folder = s[..<slash]
    while folder.hasSuffix("/") { folder.removeLast() }
    return folder.isEmpty ? "/" : String(folder)
  }

  /// The last component: "b" for "a/b" and "a/b/", "/" for "/", "" for "".
  public static func lastComponent(_ path: String) -> String {
    let s = trimmed(path)
    guard s != "/", let slash = s.lastIndex(of: "/") else { return String(s) }
    return String(s[s.index(after: slash)...])
  }

  /// `name` inside `folder` ("" for the current folder).
  public static func join(_ folder: String, _ name: String) -> String {
    folder.isEmpty ? name : folder.hasSuffix("/") ? folder + name : folder + "/" + name
  }

  /// `path` without the extension of its last component ("a/s.yaml" → "a/s"; ".hidden" and
  /// "a.d/b" keep theirs).
  public static func removingExtension(_ path: String) -> String {
    let s = trimmed(path)
    let name = lastComponent(path)
    guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return String(s) }
    return String(s.dropLast(name.distance(from: dot, to: name.endIndex)))
  }
}

// Path arithmetic on strings, against what NSString's path methods answer where they do not
// trap (they trap on one-character paths in this toolchain, which is why PathText exists).

import MLPCore
import Testing

@Suite struct PathTextTests {
  @Test(arguments: [
    ("r", "", "r"), ("a/b", "a", "b"), ("a/b/", "a", "b"), ("/r", "/", "r"), ("/", "/", "/"),
    ("a//b", "a", "b"), (".", "", "."), ("x/", "", "x"), ("runs/iris-2", "runs", "iris-2"),
    ("", "", ""),
  ])
  func folderAndName(_ c: (String, String, String)) {
    #expect(PathText.parent(c.0) == c.1, "\(c.0)")
    #expect(PathText.lastComponent(c.0) == c.2, "\(c.0)")
  }

  @Test func joinAndExtensions() {
    #expect(PathText.join("", "runs") == "runs")
    #expect(PathText.join("a", "runs") == "a/runs" && PathText.join("/", "b") == "/b")
    #expect(PathText.removingExtension("a/s.yaml") == "a/s")
    #expect(PathText.removingExtension("m.tar.gz") == "m.tar")
    #expect(PathText.removingExtension(".hidden") == ".hidden")
    #expect(PathText.removingExtension("a.d/b") == "a.d/b")
    #expect(PathText.removingExtension("s") == "s")
  }
}

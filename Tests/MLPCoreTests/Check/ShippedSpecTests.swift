// Every shipped example spec is valid; every spec in specs/invalid/ fails with the code its file
// name starts with (and warnings-only files pass without errors).

import MLPCTestSupport
import MLPCore
import Testing

@Suite struct ShippedSpecTests {
  @Test(arguments: Repository.specs(in: "specs"))
  func shippedSpecIsValid(_ path: String) {
    let result = Checker.check(file: Repository.path(path))
    #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
    #expect(result.spec != nil)
  }

  @Test(arguments: Repository.specs(in: "specs/invalid"))
  func invalidSpecReportsItsCode(_ path: String) {
    let file = path.split(separator: "/").last!
    let code = String(file.prefix(4))
    let result = Checker.check(file: Repository.path(path))
    #expect(result.diagnostics.map(\.code).contains(code), "\(result.diagnostics)")
    #expect(
      result.diagnostics.allSatisfy { $0.code == code },
      "only \(code) expected: \(result.diagnostics)")
    #expect((result.spec == nil) == code.hasPrefix("E"))
  }

  @Test func thereIsAnInvalidSpecPerCode() {
    let codes = Set(
      Repository.specs(in: "specs/invalid").map { String($0.split(separator: "/").last!.prefix(4)) }
    )
    #expect(codes == Set(DiagnosticCode.allCases.map(\.rawValue)))
  }
}

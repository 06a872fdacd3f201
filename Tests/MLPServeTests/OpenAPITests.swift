// docs/openapi.yaml is what the server does: its routes are the server's routes, and the JSON
// served at /openapi.json is the YAML document (scripts/generate_openapi_source.sh writes it).

#if Serve
  import Foundation
  import MLPCTestSupport
  import MLPServe
  import Testing
  import Yams

  @Suite struct OpenAPITests {
    /// A canonical text of a YAML value (Yams) or a JSON value, for comparing the two.
    func canonical(_ v: Any?) -> String {
      switch v {
      case let d as [String: Any]:
        return "{" + d.keys.sorted().map { "\($0):\(canonical(d[$0]))" }.joined(separator: ",")
          + "}"
      case let a as [Any]: return "[" + a.map { canonical($0) }.joined(separator: ",") + "]"
      case let b as Bool: return b ? "true" : "false"
      case let i as Int: return "n\(Double(i))"
      case let x as Double: return "n\(x)"
      case let s as String: return "s" + s
      default: return "null"
      }
    }

    func canonical(_ v: JSONValue) -> String {
      switch v {
      case .object(let members):
        let d = Dictionary(members.map { ($0.0, $0.1) }) { a, _ in a }
        return "{" + d.keys.sorted().map { "\($0):\(canonical(d[$0]!))" }.joined(separator: ",")
          + "}"
      case .array(let items): return "[" + items.map { canonical($0) }.joined(separator: ",") + "]"
      case .bool(let b): return b ? "true" : "false"
      case .number(let t): return "n\(Double(t)!)"
      case .string(let s): return "s" + s
      case .null: return "null"
      }
    }

    @Test func theServedDocumentIsTheCheckedInOne() throws {
      let yaml = try String(contentsOfFile: Repository.path("docs/openapi.yaml"), encoding: .utf8)
      let fromYAML = try Yams.load(yaml: yaml)
      let fromJSON = try JSONParser.parse(Array(OpenAPIDocument.json.utf8))
      #expect(
        canonical(fromYAML) == canonical(fromJSON),
        "docs/openapi.yaml changed: run scripts/generate_openapi_source.sh")
    }

    @Test func everyRouteIsInTheDocumentAndNoOther() throws {
      let doc = try JSONParser.parse(Array(OpenAPIDocument.json.utf8))
      guard case .object(let paths)? = doc["paths"] else {
        Issue.record("no paths")
        return
      }
      var documented = Set<String>()
      for (path, item) in paths {
        guard case .object(let operations) = item else { continue }
        for (method, _) in operations where method != "parameters" {
          documented.insert("\(method.uppercased()) \(path)")
        }
      }
      #expect(documented == Set(serveRoutes.map { "\($0.method) \($0.path)" }))
      // Every route that takes a token documents 401; every route with a model, 404.
      for route in serveRoutes {
        guard case .object(let item)? = paths.first(where: { $0.0 == route.path })?.1,
          case .object(let responses)? = item.first(where: { $0.0 == route.method.lowercased() })?
            .1["responses"]
        else {
          Issue.record("\(route.path) has no responses")
          continue
        }
        let codes = Set(responses.map(\.0))
        #expect(codes.contains("200"), "\(route.path)")
        if !route.open { #expect(codes.contains("401"), "\(route.path) lacks 401") }
        if route.path.contains("{name}") {
          #expect(codes.contains("404"), "\(route.path) lacks 404")
        }
        if route.method == "POST" {
          #expect(codes.isSuperset(of: ["400", "413"]), "\(route.path) lacks 400 or 413")
        }
      }
    }
  }
#endif

#!/usr/bin/env bash
# Writes Sources/MLPServe/OpenAPIDocument.swift from docs/openapi.yaml: the document as JSON,
# served by `mlpc serve` at GET /openapi.json (compiled in, so an installed binary needs no
# resource files). A test checks the two agree; run this after editing docs/openapi.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import json, yaml
doc = yaml.safe_load(open("docs/openapi.yaml"))
text = json.dumps(doc, indent=1, ensure_ascii=False)
assert '"""##' not in text
with open("Sources/MLPServe/OpenAPIDocument.swift", "w") as f:
    f.write("// Generated from docs/openapi.yaml by scripts/generate_openapi_source.sh; do not edit.\n\n")
    f.write("/// The OpenAPI document of `mlpc serve`, as JSON.\n")
    f.write("public enum OpenAPIDocument {\n")
    f.write("  public static let json = ##\"\"\"\n")
    for line in text.split("\n"):
        f.write(line + "\n")
    f.write("\"\"\"##\n}\n")
PY

"""Replaces the key tables of docs/spec.md (each `<!-- keys: SECTION -->` block, up to the next
blank line) and docs/spec-v1.schema.json with what `mlpc schema` generates from the key table.
Usage: scripts/update_spec_docs.py [path to mlpc]  (default: swift run mlpc)."""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
mlpc = sys.argv[1:] or ["swift", "run", "-q", "mlpc"]
markdown = subprocess.run(mlpc + ["schema", "--format", "markdown"], check=True, cwd=ROOT,
                          capture_output=True, text=True).stdout
schema = subprocess.run(mlpc + ["schema"], check=True, cwd=ROOT, capture_output=True,
                        text=True).stdout
blocks = {}
for block in markdown.strip().split("\n\n"):
    m = re.match(r"<!-- keys: (\S+) -->", block)
    if m:
        blocks[m.group(1)] = block.strip() + "\n"
docs = (ROOT / "docs" / "spec.md").read_text()
for name, block in blocks.items():
    pattern = re.compile(r"<!-- keys: " + re.escape(name) + r" -->\n(?:\|.*\n)*")
    if not pattern.search(docs):
        sys.exit(f"docs/spec.md has no '<!-- keys: {name} -->' block: add one where it belongs")
    docs = pattern.sub(lambda _: block, docs)
(ROOT / "docs" / "spec.md").write_text(docs)
(ROOT / "docs" / "spec-v1.schema.json").write_text(schema)
print(f"updated {len(blocks)} key tables and the schema")

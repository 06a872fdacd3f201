#!/usr/bin/env bash
# Runs schemathesis (PyPI) against a live `mlpc serve` from its OpenAPI document: no 5xx, every
# status, content type, header and body as the document says, undeclared methods answered 405
# with Allow. The check that every schema-valid body is accepted is left out: the document gives
# the shape of rows, but which features a model reads is the model's (GET /v2/models/NAME), so
# a generated row with made-up feature names is rightly refused.
# Usage: scripts/serve_schemathesis.sh MLPC_BINARY MODEL_DIR...   (each model is tried in turn)
set -euo pipefail
cd "$(dirname "$0")/.."
mlpc=$1
shift
work=$(mktemp -d)
trap 'kill "$pid" 2> /dev/null || true; rm -rf "$work"' EXIT
"$mlpc" serve "$@" --port 0 --quiet --max-rows 1000 2> "$work/serve.log" &
pid=$!
for _ in $(seq 100); do
  port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/serve.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.log"; exit 1; }
for model in "$@"; do
  name=$(python3 -c "import json,struct,sys; f=open(sys.argv[1] + ('/model.safetensors' if not sys.argv[1].endswith('.safetensors') else ''),'rb'); n=struct.unpack('<Q',f.read(8))[0]; h=json.loads(f.read(n)); print(json.loads(h['__metadata__']['mlpc'])['name'])" "$model")
  printf '[parameters]\n"path.name" = "%s"\n' "$name" > "$work/schemathesis.toml"
  echo "-- schemathesis on model $name"
  schemathesis --config-file "$work/schemathesis.toml" run "http://127.0.0.1:$port/openapi.json" \
    --checks all --exclude-checks positive_data_acceptance --max-examples "${SCHEMATHESIS_EXAMPLES:-100}" \
    --seed 1 --no-color
done
# The server is still up and answering after all that.
python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=10)" \
  "http://127.0.0.1:$port/v2/health/ready"
kill -TERM "$pid"
wait "$pid"
echo "schemathesis: passed"

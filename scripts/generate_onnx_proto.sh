#!/usr/bin/env bash
# Regenerates Sources/ONNXProto/onnx.pb.swift from Sources/ONNXProto/onnx.proto, the official
# schema of onnx/onnx (its onnx/onnx.proto, Apache-2.0; the copy here is from ONNX 1.23.0).
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-swift of swift-protobuf 1.39.0, the
# version Package.swift depends on; building the plugin takes about ten minutes:
#   git clone -b 1.39.0 https://github.com/apple/swift-protobuf /tmp/swift-protobuf
#   (cd /tmp/swift-protobuf && swift build -c release --product protoc-gen-swift)
# Then: scripts/generate_onnx_proto.sh [path to protoc-gen-swift]
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=${1:-/tmp/swift-protobuf/.build/release/protoc-gen-swift}
[ -x "$plugin" ] || { echo "protoc-gen-swift not found at $plugin (see the comment above)"; exit 1; }
out=$(mktemp -d)
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public --swift_out="$out" \
  -I Sources/ONNXProto Sources/ONNXProto/onnx.proto
# (protoc-gen-swift writes `// swift-format-ignore-file` at the top: the lint skips it.)
cp "$out/onnx.pb.swift" Sources/ONNXProto/onnx.pb.swift
rm -rf "$out"
echo "wrote Sources/ONNXProto/onnx.pb.swift"

#!/usr/bin/env bash
# Builds mlpc in release mode and installs it as PREFIX/bin/mlpc (PREFIX: the first argument, else
# $PREFIX, else ~/.local), then says whether that folder is on PATH.
# Usage: scripts/install.sh [PREFIX]        e.g. scripts/install.sh /usr/local (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-${PREFIX:-$HOME/.local}}
swift build -c release --product mlpc
mkdir -p "$prefix/bin"
install -m 755 "$(swift build -c release --show-bin-path)/mlpc" "$prefix/bin/mlpc"
echo "installed $prefix/bin/mlpc ($("$prefix/bin/mlpc" --version))"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "add it to PATH:  export PATH=\"$prefix/bin:\$PATH\"" ;;
esac

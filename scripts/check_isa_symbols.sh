#!/usr/bin/env bash
# Fails when the AVX-512 kernel module and any other module of a build define a symbol of the
# same name. The linker keeps one copy of such a symbol (generic specialisations are emitted
# weak), so an x86-64-v4 copy could run on a CPU without AVX-512, or the baseline copy run where
# the AVX-512 one was meant. Usage: scripts/check_isa_symbols.sh [.build/release]
set -euo pipefail
build=${1:-.build/release}
defined() { nm --defined-only "$@" 2> /dev/null | awk 'NF == 3 && $2 ~ /[TWVDRB]/ {print $3}' | sort -u; }
wide=$(ls "$build"/MLPKernelsAVX512.build/*.o)
others=$(find "$build/" -name '*.o' -not -path '*MLPKernelsAVX512.build*')
[ -n "$wide" ] && [ -n "$others" ] || { echo "no object files under $build"; exit 1; }
shared=$(comm -12 <(defined $wide | grep -v '^__swift_reflection_version$') <(defined $others))
if [ -n "$shared" ]; then
  echo "symbols defined both in MLPKernelsAVX512 and elsewhere (one copy would win at link time):"
  echo "$shared" | swift demangle
  exit 1
fi
echo "MLPKernelsAVX512 shares no symbol with the baseline modules ($(defined $wide | wc -l) symbols checked)"

#!/usr/bin/env bash
# Build the reflex kernel for the browser: src/emily/instinct/wasm/reflex_kernel.c ->
# reflex_kernel.wasm beside it, with Debian's clang and wasm-ld (scripts/setup.sh installs both).
# Idempotent and fast when up to date: rebuilds only when the source or this script is newer.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=src/emily/instinct/wasm
src=$dir/reflex_kernel.c
out=$dir/reflex_kernel.wasm
if [[ -f $out && $out -nt $src && $out -nt ${BASH_SOURCE[0]} ]]; then
  exit 0
fi
clang=${CLANG:-clang}
if ! command -v "$clang" >/dev/null 2>&1 || ! command -v wasm-ld >/dev/null 2>&1; then
  echo "build_wasm: needs clang and wasm-ld (Debian packages clang, lld): run bash scripts/setup.sh" >&2
  exit 1
fi
tmp=$(mktemp "$dir/.reflex_kernel.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# -nostdlib, --no-entry: a freestanding library; exports are marked export_name in the source.
# 64 KiB of stack; the host grows the memory for its buffers past __heap_base.
"$clang" --target=wasm32 -O3 -nostdlib -ffreestanding -Wall -Werror \
  -Wl,--no-entry -Wl,--export=__heap_base -Wl,-z,stack-size=65536 \
  -o "$tmp" "$src"
chmod 644 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
echo "build_wasm: built $out ($(stat -c %s "$out") bytes)" >&2

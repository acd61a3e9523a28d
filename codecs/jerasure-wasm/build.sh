#!/usr/bin/env bash
# Builds jerasure + gf-complete to WebAssembly with Debian's emscripten.
# The C sources come from Debian's source packages at build time and are never
# committed: they land in .sources/ (ignored by git).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/.sources"
out="$here/build"
mkdir -p "$src" "$out"

fetch_sources() {
  if ls "$src"/jerasure_*.orig.tar.* "$src"/gf-complete_*.orig.tar.* >/dev/null 2>&1; then return; fi
  echo "[wasm] fetching jerasure and gf-complete sources from Debian"
  local list=/etc/apt/sources.list.d/kintsugi-deb-src.sources
  # A temporary deb-src entry; removed again whatever happens.
  cat > "$list" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  trap 'rm -f "$list"; apt-get update -qq >/dev/null 2>&1 || true' RETURN
  apt-get update -qq >/dev/null
  # jerasure's debian.tar.xz has been seen to 404; only .orig tarballs matter.
  (cd "$src" && apt-get source --download-only jerasure gf-complete >/dev/null 2>&1) || true
  ls "$src"/jerasure_*.orig.tar.* "$src"/gf-complete_*.orig.tar.* >/dev/null 2>&1 || {
    echo "[wasm] could not download the Debian source packages" >&2; exit 1; }
}

extract() {
  local name="$1"
  local dir
  dir=$(ls -d "$src/$name"-*/ 2>/dev/null | head -n1 || true)
  if [ -z "$dir" ]; then
    tar -xf "$(ls "$src/${name}"_*.orig.tar.* | head -n1)" -C "$src"
    dir=$(ls -d "$src/$name"-*/ | head -n1)
  fi
  echo "${dir%/}"
}

fetch_sources
JER=$(extract jerasure)
GF=$(extract gf-complete)

# Debian's emcc runs its optimizer under Debian's node modules (acorn).
export NODE_PATH=/usr/share/nodejs

# SSE intrinsics are compiled to WASM SIMD by emscripten; gf-complete picks its
# SIMD paths from these macros plus wasm_cpu.c (it has no cpuid to ask).
# Memory never grows: growth would detach every view handed out by allocShards.
# 1 GiB is reserved address space only; pages cost RSS once they are touched.
SIMD="-msimd128 -msse4.1 -DINTEL_SSE2 -DINTEL_SSE3 -DINTEL_SSSE3 -DINTEL_SSE4"
GF_SRCS="gf.c gf_w4.c gf_w8.c gf_w16.c gf_w32.c gf_w64.c gf_w128.c gf_wgen.c gf_general.c gf_method.c gf_rand.c"
JER_SRCS="galois.c jerasure.c reed_sol.c cauchy.c"
sources=("$here/wasm_cpu.c" "$here/wasm_api.c" "$here/../common/ks_codec.c" "$here/../common/ks_crc.c")
for f in $GF_SRCS; do sources+=("$GF/src/$f"); done
for f in $JER_SRCS; do sources+=("$JER/src/$f"); done

exports='["_ks_alloc","_ks_free","_ks_new","_ks_delete","_ks_alignment","_ks_encode_ptrs","_ks_decode_ptrs","_ks_crc_update_at"]'

# build NAME FLAGS...: one variant. The SIMD one is what the store uses; the
# scalar one exists so that the codec bench can show what SIMD buys.
build() {
  local name="$1"; shift
  echo "[wasm] emcc -O3 $* -> build/$name.wasm"
  emcc -O3 "$@" -DNDEBUG \
    -I"$GF/include" -I"$JER/include" -I"$here/../common" \
    -Wno-everything \
    -sSTANDALONE_WASM=1 --no-entry \
    -sEXPORTED_FUNCTIONS="$exports" \
    -sALLOW_MEMORY_GROWTH=0 -sINITIAL_MEMORY=1073741824 \
    -sFILESYSTEM=0 \
    "${sources[@]}" -o "$out/$name.tmp.wasm"
  mv "$out/$name.tmp.wasm" "$out/$name.wasm"
  echo "[wasm] built build/$name.wasm, $(stat -c %s "$out/$name.wasm") bytes"
}

build jerasure $SIMD
build jerasure-scalar

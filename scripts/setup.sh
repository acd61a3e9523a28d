#!/usr/bin/env bash
# One-step, idempotent set-up for a fresh machine of this kind: system packages,
# npm dependencies, the native addon, the WASM build, the ISA-L bench addon and
# the TypeScript build. Each step is skipped when its output is up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
# --quiet: say nothing but errors. --image: only what the container image's
# build stage needs (the codecs, the console bundle, tsc): no test clients,
# browsers or benchmark references.
quiet=0
image=0
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=1 ;;
    --image) image=1 ;;
    *) echo "[setup] unknown option $arg" >&2; exit 2 ;;
  esac
done
log() { [ "$quiet" = 1 ] || echo "[setup] $*"; }

# --- system packages -------------------------------------------------------
# The S3 clients (awscli, rclone, s3cmd, boto3) are there for the integration tests;
# nginx (in front of two gateways) and iproute2 (network namespaces) for the cluster tests;
# chromium and firefox-esr for the web console's browser tests (Chromium driven by
# playwright-core, Firefox over WebDriver BiDi; no browser is downloaded).
# buildah and debootstrap build the container image and its base in the image test.
BUILD_PACKAGES=(libjerasure-dev libgf-complete-dev emscripten dpkg-dev xz-utils g++ make python3)
TEST_PACKAGES=(libisal-dev awscli rclone s3cmd python3-boto3 nginx-light iproute2 chromium firefox-esr buildah debootstrap libxml2-utils)
APT_PACKAGES=("${BUILD_PACKAGES[@]}")
[ "$image" = 1 ] || APT_PACKAGES+=("${TEST_PACKAGES[@]}")
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "[setup] missing system packages: ${missing[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  # No service is started by an install (nginx would take port 80): the tests start what they use.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$own_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
else
  log "system packages present"
fi

# --- npm dependencies ------------------------------------------------------
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
else
  log "npm dependencies up to date"
fi

# stale OUTPUT INPUT...: true when OUTPUT is missing or older than any INPUT file.
stale() {
  local out="$1"; shift
  [ -e "$out" ] || return 0
  [ -n "$(find "$@" -newer "$out" -type f 2>/dev/null | head -n1)" ]
}

gyp() {
  # npm passes nodedir (Node's own headers) to node-gyp through its config;
  # outside npm we pass it ourselves so that nothing is downloaded.
  # Node's own headers sit beside the running node (/usr here, /usr/local in the image).
  local nodedir="${npm_config_nodedir:-}"
  local prefix
  prefix=$(node -p "require('path').resolve(process.execPath, '../..')")
  [ -z "$nodedir" ] && [ -f "$prefix/include/node/node.h" ] && nodedir="$prefix"
  local gyp_bin="$PWD/node_modules/.bin/node-gyp"
  (cd "$1" && "$gyp_bin" rebuild --loglevel=error ${nodedir:+--nodedir="$nodedir"} >/dev/null)
}

# --- native codec ----------------------------------------------------------
NATIVE=codecs/jerasure-native/build/Release/kintsugi_jerasure.node
if stale "$NATIVE" codecs/jerasure-native/src codecs/jerasure-native/binding.gyp codecs/common/ks_codec.c codecs/common/ks_codec.h codecs/common/ks_crc.c codecs/common/ks_crc.h; then
  log "building native codec (node-gyp, libJerasure)"
  gyp codecs/jerasure-native
else
  log "native codec up to date"
fi

# --- node link seal ---------------------------------------------------------
# AES-256-GCM for the node link's frames through the OpenSSL Node itself links
# and exports (its headers ship with Node's); without it the link seals with node:crypto.
SEAL=plugins/drive-remote/seal-native/build/Release/kintsugi_seal.node
if stale "$SEAL" plugins/drive-remote/seal-native/src plugins/drive-remote/seal-native/binding.gyp; then
  log "building the node link's seal addon (node-gyp, Node's OpenSSL)"
  gyp plugins/drive-remote/seal-native
else
  log "node link seal addon up to date"
fi

# --- WASM codec ------------------------------------------------------------
WASM=codecs/jerasure-wasm/build/jerasure.wasm
if stale "$WASM" codecs/jerasure-wasm/build.sh codecs/jerasure-wasm/wasm_cpu.c codecs/jerasure-wasm/wasm_api.c codecs/common/ks_codec.c codecs/common/ks_codec.h codecs/common/ks_crc.c codecs/common/ks_crc.h; then
  log "building WASM codec (emscripten, Debian sources)"
  if [ "$quiet" = 1 ]; then bash codecs/jerasure-wasm/build.sh >/dev/null; else bash codecs/jerasure-wasm/build.sh; fi
else
  log "WASM codec up to date"
fi

# --- ISA-L reference (benchmarks only) -------------------------------------
ISAL=bench/isal/build/Release/kintsugi_isal.node
if [ "$image" = 1 ]; then
  log "ISA-L bench reference skipped (image)"
elif stale "$ISAL" bench/isal/src bench/isal/binding.gyp; then
  log "building ISA-L bench reference"
  gyp bench/isal
else
  log "ISA-L bench reference up to date"
fi

# --- web console -------------------------------------------------------------
CONSOLE=console/build/app.js
if stale "$CONSOLE" console/src console/build.mjs package-lock.json; then
  log "bundling the web console (esbuild: Preact, uPlot)"
  node console/build.mjs
else
  log "web console up to date"
fi

# --- TypeScript ------------------------------------------------------------
if [ ! -e dist/.built ] || [ -n "$(find core plugins codecs server bench tsconfig.json package.json -name '*.ts' -newer dist/.built -o -name '*.json' -newer dist/.built 2>/dev/null | grep -v /node_modules/ | head -n1)" ]; then
  log "compiling TypeScript (tsc)"
  rm -rf dist
  npx tsc -p tsconfig.json
  chmod +x dist/server/cli.js
  touch dist/.built
else
  log "TypeScript build up to date"
fi
log "ready"

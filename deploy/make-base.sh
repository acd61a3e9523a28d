#!/usr/bin/env bash
# Makes the image base locally when no registry is reachable: Debian bookworm
# (debootstrap --variant=minbase, from Debian's mirror) with this machine's
# Node.js 20 (the files of its `nodejs` package) added, committed with buildah
# as the image named by $1 (default localhost/kintsugi-base:bookworm-node20).
# Usage: deploy/make-base.sh [IMAGE] [WORKDIR]
set -euo pipefail
image="${1:-localhost/kintsugi-base:bookworm-node20}"
work="${2:-$(mktemp -d)}"
rootfs="$work/rootfs"
mkdir -p "$work"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if buildah inspect --type image "$image" >/dev/null 2>&1; then echo "[base] $image exists"; exit 0; fi
echo "[base] debootstrap --variant=minbase bookworm into $rootfs"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; exit 1; }
# The security updates too, as the official images carry them.
cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/" 2>/dev/null && rm -f "$rootfs/etc/apt/sources.list" || true
# Node goes under /usr/local, as in the official node images: a Debian nodejs that a
# package pulls in (emscripten does) lands in /usr/bin, behind it on PATH.
prefix=$(node -p "require('path').resolve(process.execPath, '../..')")
echo "[base] adding Node.js $(node -v) from $prefix"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/include" "$rootfs/usr/local/lib/node_modules"
cp "$(node -p process.execPath)" "$rootfs/usr/local/bin/node"
cp -a "$prefix/include/node" "$rootfs/usr/local/include/"
cp -a "$prefix/lib/node_modules/npm" "$rootfs/usr/local/lib/node_modules/"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chroot "$rootfs" /usr/local/bin/node -v >/dev/null
# The CA certificates, and this machine's own (an egress proxy's, in
# /usr/local/share/ca-certificates): npm and apt in the image's build stage
# then reach what this machine reaches. Node reads them through NODE_EXTRA_CA_CERTS.
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
chroot "$rootfs" apt-get update -qq
DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null
cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
chroot "$rootfs" update-ca-certificates >/dev/null
chroot "$rootfs" apt-get clean
rm -rf "$rootfs/var/lib/apt/lists/"*
ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$rootfs"' EXIT
buildah copy "$ctr" "$rootfs/" / >/dev/null
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt --cmd /bin/bash "$ctr"
buildah commit --quiet "$ctr" "$image" >/dev/null
echo "[base] $image"

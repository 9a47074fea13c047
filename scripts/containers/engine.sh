#!/usr/bin/env bash
# Prints the container engine to use: podman (with the project's containers.conf), else a docker
# whose daemon answers. Installs podman and runc from Debian when neither is there and we are root.
#   engine=$(scripts/containers/engine.sh)   then   $engine build ..., $engine run ...
# With podman, callers export CONTAINERS_CONF themselves: `export CONTAINERS_CONF=$(scripts/containers/engine.sh --conf)`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = "--conf" ]; then
  echo "$here/containers.conf"
  exit 0
fi

want=${CONTAINER_ENGINE:-}
if [ -z "$want" ]; then
  if command -v podman >/dev/null 2>&1; then
    want=podman
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    want=docker
  elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "containers: installing podman and runc from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends podman runc >/dev/null
    want=podman
  else
    echo "containers: no container engine: install podman and runc (apt-get install podman runc), or start Docker" >&2
    exit 1
  fi
fi
if [ "$want" = podman ] && ! command -v runc >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends runc >/dev/null
  else
    echo "containers: podman needs runc here (crun fails on hybrid cgroups): apt-get install runc" >&2
    exit 1
  fi
fi
echo "$want"

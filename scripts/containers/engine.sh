#!/usr/bin/env bash
# Prints the container engine to use: podman (with the project's containers.conf), else a docker
# whose daemon answers. When podman is the engine and we are root, installs from Debian what it
# needs here and is missing: podman, runc, netavark and aardvark-dns (DNS for network aliases) and
# catatonit (the pods' infra process).
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
    want=podman
  else
    echo "containers: no container engine: install podman and runc (apt-get install podman runc), or start Docker" >&2
    exit 1
  fi
fi
if [ "$want" = podman ]; then
  need=()
  command -v podman >/dev/null 2>&1 || need+=(podman)
  command -v runc >/dev/null 2>&1 || need+=(runc)
  [ -x /usr/lib/podman/netavark ] || need+=(netavark)
  [ -x /usr/lib/podman/aardvark-dns ] || need+=(aardvark-dns)
  command -v catatonit >/dev/null 2>&1 || need+=(catatonit)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "containers: installing ${need[*]} from Debian" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    else
      echo "containers: podman here needs ${need[*]}: apt-get install ${need[*]}" >&2
      exit 1
    fi
  fi
fi
echo "$want"

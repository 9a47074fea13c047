#!/usr/bin/env bash
# Builds the local stand-in images that `make kube-test` runs in place of images no registry can
# deliver here (DESIGN.md §8), each from Debian's own package, only when it is missing:
#
#   localhost/orderflow-standin/nats-server:2.9  Debian's nats-server 2.9 in place of the chart's
#       nats:<tag>-alpine. Same command line (`nats-server --config ...`), same config file.
#   localhost/orderflow-standin/postgres:15      Debian's PostgreSQL 15 with a small subset of the
#       official postgres image's entrypoint (PGDATA, POSTGRES_HOST_AUTH_METHOD,
#       /docker-entrypoint-initdb.d/*.sql), user postgres = 999 as there. It stands in for
#       CockroachDB, which has neither an image nor a binary obtainable here: the container run
#       uses the chart's cockroachdb.external path against it.
#
#   scripts/containers/stand-ins.sh [nats|postgres ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=lib.sh
. scripts/containers/lib.sh

NATS_IMAGE=localhost/orderflow-standin/nats-server:2.9
POSTGRES_IMAGE=localhost/orderflow-standin/postgres:15

work=$(mktemp -d "${TMPDIR:-/tmp}/orderflow-stand-in.XXXXXX")
trap 'rm -rf "$work"' EXIT

build_nats() {
  image_present "$NATS_IMAGE" && return 0
  echo "stand-ins: building $NATS_IMAGE from Debian's nats-server" >&2
  debian_rootfs "$work/nats.tar" --include=nats-server
  $engine import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL org.orderflow.stand-in=true' \
    --change 'EXPOSE 4222' --change 'EXPOSE 6222' --change 'EXPOSE 8222' \
    --change 'CMD ["nats-server"]' \
    "$work/nats.tar" "$NATS_IMAGE" >/dev/null
}

build_postgres() {
  image_present "$POSTGRES_IMAGE" && return 0
  echo "stand-ins: building $POSTGRES_IMAGE from Debian's postgresql-15" >&2
  mkdir -p "$work/pg/usr/local/bin"
  cat >"$work/pg/usr/local/bin/docker-entrypoint.sh" <<'SCRIPT'
#!/bin/bash
# A subset of the official postgres image's entrypoint: initialise PGDATA once, run the
# /docker-entrypoint-initdb.d/*.sql scripts, then run the server in the foreground.
set -euo pipefail
export PATH=/usr/lib/postgresql/15/bin:$PATH
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb --username="$POSTGRES_USER" --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" \
    --encoding=UTF8 --no-instructions -D "$PGDATA" >/dev/null
  echo "host all all all $POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -k /var/run/postgresql" -w start >/dev/null
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [ -e "$f" ] || continue
    echo "entrypoint: running $f"
    psql -v ON_ERROR_STOP=1 -h /var/run/postgresql -U "$POSTGRES_USER" -d postgres -f "$f" >/dev/null
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -k /var/run/postgresql "$@"
SCRIPT
  chmod 0755 "$work/pg/usr/local/bin/docker-entrypoint.sh"
  # The postgres user and group are 999, as in the official image; created before the package so
  # its postinst keeps them (passwd's tools are not installed yet at that point).
  debian_rootfs "$work/postgres.tar" --include=postgresql-15 \
    --essential-hook='echo "postgres:x:999:" >>"$1/etc/group"' \
    --essential-hook='echo "postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/bash" >>"$1/etc/passwd"' \
    --customize-hook="tar -C '$work/pg' -c . | tar -C \"\$1\" -x" \
    --customize-hook='rm -rf "$1"/var/lib/postgresql/15 "$1"/etc/postgresql/15'
  $engine import --quiet \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'LABEL org.orderflow.stand-in=true' \
    --change 'USER 999:999' \
    --change 'EXPOSE 5432' \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    "$work/postgres.tar" "$POSTGRES_IMAGE" >/dev/null
}

kinds=("$@")
[ ${#kinds[@]} -eq 0 ] && kinds=(nats postgres)
for kind in "${kinds[@]}"; do
  case "$kind" in
    nats) build_nats ;;
    postgres) build_postgres ;;
    *) echo "stand-ins: unknown image $kind (nats, postgres)" >&2; exit 2 ;;
  esac
done

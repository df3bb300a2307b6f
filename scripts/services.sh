#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432, database `test`) and Redis (127.0.0.1:6379) are up for the
# scaled-out tests: start them if they are installed but stopped, install them (Debian) if absent.
set -uo pipefail

log() { printf '[services] %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

ensure_postgres() {
  port_open 5432 && return 0
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing PostgreSQL"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || return 1
  fi
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$version" ] || return 1
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || return 1
  for _ in $(seq 1 30); do port_open 5432 && break; sleep 1; done
  # trust auth and a `test` database, as on the development machines
  as_root su postgres -c "psql -tAc \"select 1 from pg_database where datname='test'\" | grep -q 1 || createdb test" || true
  port_open 5432
}

ensure_redis() {
  port_open 6379 && return 0
  if ! command -v redis-server >/dev/null 2>&1; then
    log "installing Redis"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null || return 1
  fi
  log "starting Redis"
  mkdir -p /tmp/odr-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp/odr-redis \
    --logfile /tmp/odr-redis/redis.log || return 1
  for _ in $(seq 1 30); do port_open 6379 && break; sleep 1; done
  port_open 6379
}

status=0
ensure_postgres || { log "PostgreSQL is not available"; status=1; }
ensure_redis || { log "Redis is not available"; status=1; }
exit $status

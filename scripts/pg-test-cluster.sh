#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite, in a temporary directory.
#
# Sourced by scripts/test:   source scripts/pg-test-cluster.sh; pg_test_cluster_start
#   on success exports TEST_POSTGRES_URL (trust auth, 127.0.0.1 only) and PG_TEST_VERSION;
#   otherwise leaves TEST_POSTGRES_URL unset and sets PG_TEST_SKIPPED to the reason.
#   The caller must run pg_test_cluster_stop at exit (scripts/test does it in its EXIT trap).
# Run directly:              bash scripts/pg-test-cluster.sh COMMAND [ARGS...]
#   runs COMMAND with TEST_POSTGRES_URL set and removes the cluster afterwards.
#
# When the server binaries are missing they are installed from the distribution's packages
# (root only); nothing is ever started on the machine's own PostgreSQL, if it has one.
# PG_TEST_TMPDIR chooses where the cluster lives (default /dev/shm, else $TMPDIR or /tmp).

PG_TEST_DIR=""
PG_TEST_BIN=""
PG_TEST_SKIPPED=""
PG_TEST_VERSION=""

_pg_test_find_bin() {
  local dir
  # Debian keeps the server under /usr/lib/postgresql/<major>/bin; take the newest.
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    PG_TEST_BIN=$dir
    return 0
  fi
  if command -v pg_config >/dev/null 2>&1; then
    dir=$(pg_config --bindir 2>/dev/null || true)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      PG_TEST_BIN=$dir
      return 0
    fi
  fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    PG_TEST_BIN=$(dirname "$(command -v initdb)")
    return 0
  fi
  return 1
}

# Run a command as the cluster's owner: initdb and postgres refuse to run as root.
_pg_test_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_pg_test_free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

pg_test_cluster_start() {
  if ! _pg_test_find_bin; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "pg-test-cluster: PostgreSQL server not found; installing it from the distribution's packages"
      local started=$SECONDS
      if ! { { [ -n "${APT_UPDATED:-}" ] || DEBIAN_FRONTEND=noninteractive apt-get update -qq; } \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }; then
        PG_TEST_SKIPPED="apt-get install postgresql failed"
        return 0
      fi
      echo "pg-test-cluster: installed in $((SECONDS - started)) s"
      _pg_test_find_bin || { PG_TEST_SKIPPED="PostgreSQL installed but initdb not found"; return 0; }
    else
      PG_TEST_SKIPPED="PostgreSQL server (initdb, pg_ctl) not installed and not root to install it"
      return 0
    fi
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    PG_TEST_SKIPPED="running as root but there is no 'postgres' user to own the cluster"
    return 0
  fi

  # In memory when the machine has /dev/shm: creating a database per test is then ten times faster.
  local base=${PG_TEST_TMPDIR:-}
  if [ -z "$base" ]; then
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then base=/dev/shm; else base=${TMPDIR:-/tmp}; fi
  fi
  PG_TEST_DIR=$(mktemp -d "$base/rso-pg-test.XXXXXX")
  chmod 700 "$PG_TEST_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$PG_TEST_DIR"
  fi
  local port
  port=$(_pg_test_free_port)
  if ! _pg_test_as_owner "$PG_TEST_BIN/initdb" -D "$PG_TEST_DIR/data" -U postgres \
      --auth=trust --encoding=UTF8 --locale=C --no-sync >"$PG_TEST_DIR/initdb.log" 2>&1; then
    cat "$PG_TEST_DIR/initdb.log" >&2
    PG_TEST_SKIPPED="initdb failed (log above)"
    pg_test_cluster_stop
    return 0
  fi
  # Durability is pointless for a cluster that lives for one test run; speed is not.
  if ! _pg_test_as_owner "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" \
      -w -t 60 -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TEST_DIR -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null; then
    cat "$PG_TEST_DIR/server.log" >&2 || true
    PG_TEST_SKIPPED="the test cluster did not start (log above)"
    pg_test_cluster_stop
    return 0
  fi
  if ! _pg_test_as_owner "$PG_TEST_BIN/createdb" -h "$PG_TEST_DIR" -p "$port" -U postgres rso_test; then
    PG_TEST_SKIPPED="createdb failed"
    pg_test_cluster_stop
    return 0
  fi
  PG_TEST_VERSION=$(_pg_test_as_owner "$PG_TEST_BIN/postgres" --version | awk '{print $3}')
  export PG_TEST_VERSION
  export TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/rso_test"
  echo "pg-test-cluster: PostgreSQL $PG_TEST_VERSION on 127.0.0.1:$port (data in $PG_TEST_DIR)"
}

pg_test_cluster_stop() {
  if [ -n "$PG_TEST_DIR" ] && [ -d "$PG_TEST_DIR" ]; then
    if [ -f "$PG_TEST_DIR/data/postmaster.pid" ]; then
      _pg_test_as_owner "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate -w stop \
        >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_TEST_DIR"
  fi
  PG_TEST_DIR=""
  unset TEST_POSTGRES_URL
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  trap pg_test_cluster_stop EXIT
  trap 'exit 130' INT TERM
  pg_test_cluster_start
  if [ -n "$PG_TEST_SKIPPED" ]; then
    echo "pg-test-cluster: no PostgreSQL: $PG_TEST_SKIPPED" >&2
  fi
  "$@"
fi

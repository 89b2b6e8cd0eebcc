#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL cluster for the test suite.
#
#   bash scripts/pg.sh start DIR   creates a cluster in DIR (created if missing; must be empty),
#                                  listening only on 127.0.0.1 on a free port, trust auth,
#                                  fsync off; prints exactly one line on stdout:
#                                  postgres://postgres@127.0.0.1:PORT/postgres
#   bash scripts/pg.sh start DIR --tls
#                                  the same, with ssl=on: a throwaway CA and a server certificate
#                                  for localhost and 127.0.0.1 (openssl) in DIR/tls/; the CA is
#                                  DIR/tls/ca.crt, and DIR/tls/other-ca.crt is a CA that signed
#                                  nothing (for tests of a wrong CA). Plain connections still work.
#   bash scripts/pg.sh stop DIR    stops the cluster (immediate shutdown) and removes DIR;
#                                  succeeds when DIR is already gone or the server already stopped.
#
# Layout of DIR: data/ (the cluster), socket/ (unix socket), postgres.log, url, .pg.sh (marker:
# `stop` only removes directories that carry it). All diagnostics go to stderr.
#
# PostgreSQL refuses to run as root, so as root the binaries run as the `postgres` user (created
# as the system user `kling-pg` when `postgres` does not exist) and DIR is chowned to it. When the
# server binaries are missing, root installs Debian's `postgresql` package.
set -euo pipefail

marker=.pg.sh
PG_SOCKET_NAME=/.s.PGSQL.65535 # the longest socket file name under the socket directory

die() {
  echo "pg.sh: error: $*" >&2
  exit 1
}

say() {
  echo "pg.sh: $*" >&2
}

usage() {
  echo "usage: bash scripts/pg.sh start DIR [--tls] | stop DIR" >&2
  exit 2
}

# The newest /usr/lib/postgresql/VERSION/bin that has initdb, pg_ctl and postgres.
find_bindir() {
  local best="" dir
  while IFS= read -r dir; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      best=$dir
    fi
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
  printf '%s' "$best"
}

ensure_bindir() {
  bindir=$(find_bindir)
  [ -n "$bindir" ] && return 0
  [ "$(id -u)" -eq 0 ] ||
    die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin and not root: install the 'postgresql' package"
  command -v apt-get >/dev/null 2>&1 ||
    die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin and no apt-get to install them"
  say "installing the 'postgresql' package (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2 || die "apt-get update failed"
  apt-get install -y -q --no-install-recommends postgresql >&2 ||
    die "apt-get install postgresql failed"
  bindir=$(find_bindir)
  [ -n "$bindir" ] || die "installed 'postgresql' but found no server binaries in /usr/lib/postgresql/*/bin"
}

# Sets run_user: the account the server runs as (empty: the current user, when not root).
choose_user() {
  run_user=""
  [ "$(id -u)" -eq 0 ] || return 0
  if id -u postgres >/dev/null 2>&1; then
    run_user=postgres
    return 0
  fi
  run_user=kling-pg
  if ! id -u "$run_user" >/dev/null 2>&1; then
    say "creating the system user $run_user (PostgreSQL refuses to run as root)"
    # A concurrent start may have created it in the meantime: only fail when it is still missing.
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$run_user" >&2 || id -u "$run_user" >/dev/null 2>&1 ||
      die "could not create the system user $run_user"
  fi
}

# Runs a command as run_user (or directly when run_user is empty), from a directory that user can
# enter, with stdout sent to stderr.
as_user() {
  if [ -z "$run_user" ]; then
    (cd / && "$@") >&2
  elif command -v runuser >/dev/null 2>&1; then
    (cd / && runuser -u "$run_user" -- "$@") >&2
  else
    (cd / && setpriv --reuid="$run_user" --regid="$(id -g "$run_user")" --init-groups -- "$@") >&2
  fi
}

# A TCP port on 127.0.0.1 that nothing listens on right now (start retries if it is taken later).
pick_port() {
  if command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null; then
    return 0
  fi
  local port _
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

abs_dir() {
  (cd "$1" && pwd -P)
}

# Writes a CA, a server certificate signed by it (localhost, 127.0.0.1) and an unrelated CA into
# $1 (owned by the current user; the caller hands them to the server's user).
make_tls() {
  local tls=$1
  command -v openssl >/dev/null 2>&1 || die "--tls needs openssl"
  mkdir -p "$tls"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  local ca_ext=(-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign")
  openssl req -x509 "${ec[@]}" -keyout "$tls/ca.key" -out "$tls/ca.crt" -days 3 \
    -subj "/CN=pg.sh throwaway CA" "${ca_ext[@]}" >/dev/null 2>&1 || die "openssl: the CA failed"
  openssl req -x509 "${ec[@]}" -keyout "$tls/other-ca.key" -out "$tls/other-ca.crt" -days 3 \
    -subj "/CN=pg.sh unrelated CA" "${ca_ext[@]}" >/dev/null 2>&1 || die "openssl: the second CA failed"
  openssl req "${ec[@]}" -keyout "$tls/server.key" -out "$tls/server.csr" \
    -subj "/CN=localhost" >/dev/null 2>&1 || die "openssl: the server key failed"
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
    -CAcreateserial -out "$tls/server.crt" -days 3 -extfile "$tls/server.ext" >/dev/null 2>&1 ||
    die "openssl: signing the server certificate failed"
  rm -f "$tls/ca.key" "$tls/other-ca.key" "$tls/server.csr" "$tls/server.ext" "$tls/ca.srl"
  chmod 0600 "$tls/server.key"
  chmod 0644 "$tls/ca.crt" "$tls/other-ca.crt" "$tls/server.crt"
}

cmd_start() {
  local dir=$1 tls_on=${2:-}
  ensure_bindir
  choose_user

  if [ -e "$dir" ]; then
    [ -d "$dir" ] || die "$dir exists and is not a directory"
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty (start needs a new or empty directory)"
  else
    mkdir -p "$dir" || die "could not create $dir"
  fi
  dir=$(abs_dir "$dir")
  case $dir in
    *"'"* | *\\* | *$'\n'*) die "$dir: quotes, backslashes and newlines are not supported in DIR" ;;
  esac
  : >"$dir/$marker"
  mkdir "$dir/socket"
  chmod 0700 "$dir"
  if [ -n "$run_user" ]; then
    chown -R "$run_user:" "$dir" || die "could not chown $dir to $run_user"
    as_user test -w "$dir" -a -x "$dir" ||
      die "$dir is not reachable by the user $run_user (check the permissions of its parent directories)"
  fi

  # C.UTF-8 when the system has it (Unicode-aware upper/lower), else C; always UTF8, never the
  # caller's locale, so the log's messages stay in English.
  local locale=C
  if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then
    locale=C.UTF-8
  fi
  local started_at=$SECONDS
  as_user "$bindir/initdb" --pgdata="$dir/data" --username=postgres --auth=trust \
    --encoding=UTF8 --locale="$locale" --no-sync ||
    die "initdb failed in $dir/data"

  # A unix socket path is limited to 107 bytes: past that, TCP only.
  local sockets="$dir/socket"
  if [ $((${#sockets} + ${#PG_SOCKET_NAME})) -gt 107 ]; then
    say "$sockets is too long for a unix socket path: TCP only"
    sockets=""
  fi
  echo "include 'pg-sh.conf'" >>"$dir/data/postgresql.conf"
  local ssl_conf=""
  if [ -n "$tls_on" ]; then
    make_tls "$dir/tls"
    [ -z "$run_user" ] || chown -R "$run_user:" "$dir/tls"
    chmod 0755 "$dir/tls"
    ssl_conf="ssl = on
ssl_cert_file = '$dir/tls/server.crt'
ssl_key_file = '$dir/tls/server.key'"
  fi

  local log="$dir/postgres.log" attempt port offset
  for attempt in 1 2 3 4 5; do
    port=$(pick_port) || die "found no free TCP port on 127.0.0.1"
    cat >"$dir/data/pg-sh.conf" <<EOF
# Written by scripts/pg.sh: a throwaway cluster for tests, not for data anyone wants to keep.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockets'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
$ssl_conf
EOF
    [ -z "$run_user" ] || chown "$run_user:" "$dir/data/pg-sh.conf"
    offset=0
    [ -f "$log" ] && offset=$(wc -c <"$log")
    if as_user "$bindir/pg_ctl" start --pgdata="$dir/data" --log="$log" --wait --timeout=60; then
      local url="postgres://postgres@127.0.0.1:$port/postgres"
      echo "$url" >"$dir/url"
      say "PostgreSQL $(cat "$dir/data/PG_VERSION") ready at $url (data in $dir, log $log, user ${run_user:-$(id -un)}, $((SECONDS - started_at))s)"
      echo "$url"
      return 0
    fi
    if tail -c +"$((offset + 1))" "$log" 2>/dev/null | grep -q 'could not bind\|Address already in use'; then
      say "port $port was taken in the meantime (attempt $attempt): trying another"
      continue
    fi
    break
  done
  echo "pg.sh: the server did not start; the end of $log:" >&2
  tail -n 30 "$log" >&2 2>/dev/null || true
  # Leave nothing running behind a failed start.
  as_user "$bindir/pg_ctl" stop --pgdata="$dir/data" --mode=immediate --wait >/dev/null 2>&1 || true
  die "could not start PostgreSQL in $dir"
}

cmd_stop() {
  local dir=$1
  [ -e "$dir" ] || return 0
  [ -d "$dir" ] || die "$dir is not a directory"
  dir=$(abs_dir "$dir")
  if [ ! -e "$dir/$marker" ]; then
    rmdir "$dir" 2>/dev/null && return 0
    die "refusing to remove $dir: it was not made by 'pg.sh start' (no $marker marker)"
  fi

  local data="$dir/data"
  if [ -f "$data/postmaster.pid" ]; then
    run_user=""
    if [ "$(id -u)" -eq 0 ]; then
      run_user=$(stat -c %U "$data")
    fi
    local version bindir=""
    version=$(cat "$data/PG_VERSION" 2>/dev/null || true)
    if [ -n "$version" ] && [ -x "/usr/lib/postgresql/$version/bin/pg_ctl" ]; then
      bindir=/usr/lib/postgresql/$version/bin
    else
      bindir=$(find_bindir)
    fi
    local stopped=false
    if [ -n "$bindir" ]; then
      local status=0
      as_user "$bindir/pg_ctl" status --pgdata="$data" >/dev/null 2>&1 || status=$?
      if [ "$status" -eq 0 ]; then
        as_user "$bindir/pg_ctl" stop --pgdata="$data" --mode=immediate --wait --timeout=60 && stopped=true
      else
        stopped=true # 3: not running (stale pid file); 4: no data directory
      fi
    fi
    if [ "$stopped" != true ]; then
      # pg_ctl missing or failed: SIGQUIT is an immediate shutdown; then wait for the postmaster.
      local pid
      pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
      if [[ $pid =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]; then
        say "pg_ctl could not stop the server: sending SIGQUIT to $pid"
        kill -QUIT "$pid" 2>/dev/null || true
        local _
        for _ in $(seq 1 100); do
          kill -0 "$pid" 2>/dev/null || break
          sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
          kill -KILL "$pid" 2>/dev/null || true
        fi
      fi
    fi
  fi
  rm -rf -- "$dir" || die "could not remove $dir"
}

[ $# -eq 2 ] || { [ $# -eq 3 ] && [ "$1" = start ] && [ "$3" = --tls ]; } || usage
[ -n "$2" ] || usage
case $1 in
  start) cmd_start "$2" "${3:-}" ;;
  stop) cmd_stop "$2" ;;
  *) usage ;;
esac

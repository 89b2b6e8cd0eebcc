#!/usr/bin/env bash
# A newcomer's first ten minutes, as the README tells them, on a fresh account: a new, empty
# HOME, no key, no settings, default poll times. Every command below is also in README.md
# (checked here, so the two cannot drift apart). Fails on any non-zero exit, any ERROR or WARN
# log line, a task id given twice, or a video that is not the simulator's MP4.
#
# Usage: bash scripts/newcomer.sh [BIN]   (BIN defaults to target/debug/kling-omni-mcp)
# tests/it/newcomer.rs runs it with the binary under test, so `cargo test` (and CI) runs it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$repo/target/debug/kling-omni-mcp}
[ -x "$bin" ] || { echo "newcomer: no binary at $bin (run cargo build)" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

home=$(mktemp -d "${TMPDIR:-/tmp}/kling-newcomer.XXXXXX")
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$home"
}
trap cleanup EXIT

# A fresh user: nothing of ours, nothing of the caller's settings.
for var in $(env | sed -n 's/^\(KLING_MCP_[A-Z_]*\|COMETAPI_[A-Z_]*\|XDG_[A-Z_]*\|RUST_LOG\)=.*/\1/p'); do
  unset "$var"
done
export HOME=$home
mkdir -p "$home/bin"
ln -s "$bin" "$home/bin/kling-omni-mcp"
export PATH="$home/bin:$PATH"
cd "$home"

fail() { echo "newcomer: FAILED: $*" >&2; exit 1; }

# The README must show the command (with `kling-omni-mcp` as its program).
in_readme() {
  grep -qF -- "$1" "$repo/README.md" || fail "README.md no longer shows: $1"
}

# Runs a command as the README shows it; its stdout is in $out, its stderr in $err.
step() {
  echo "\$ $*" >&2
  local code=0
  "$@" >"$home/.out" 2>"$home/.err" || code=$?
  out=$(cat "$home/.out")
  err=$(cat "$home/.err")
  [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/  | /' >&2
  [ -n "$err" ] && printf '%s\n' "$err" | sed 's/^/  ! /' >&2
  [ "$code" = 0 ] || fail "exit $code from: $*"
  if printf '%s\n%s\n' "$out" "$err" | grep -E '(^|[[:space:]])(ERROR|WARN)[[:space:]]' >/dev/null; then
    fail "a log line where the README promises none: $*"
  fi
}

# 1. Try it without a key: two simulated videos in a row, the second followed from another
#    process.
first='kling-omni-mcp generate --simulate --prompt "A paper boat drifts down a rainy street" --aspect-ratio 16:9 --wait --download ./out'
second='kling-omni-mcp generate --simulate --prompt "A lighthouse in a storm" --aspect-ratio 16:9'
in_readme "$first"
in_readme "$second"
in_readme "kling-omni-mcp status sim-… --wait --simulate --download ./out"
step kling-omni-mcp generate --simulate --prompt "A paper boat drifts down a rainy street" --aspect-ratio 16:9 --wait --download ./out
id1=$(printf '%s\n' "$err" | sed -n 's/^submitted task \(sim-[^ ]*\).*/\1/p')
[ -n "$id1" ] || fail "the first generate named no sim- task id"
printf '%s\n' "$out" | grep -qF "✔ task $id1: succeed" || fail "the first video did not succeed"
cmp -s "out/$id1.mp4" "$repo/src/simulator/assets/sample.mp4" || fail "out/$id1.mp4 is not the simulator's MP4"

step kling-omni-mcp generate --simulate --prompt "A lighthouse in a storm" --aspect-ratio 16:9
id2=$(printf '%s\n' "$err" | sed -n 's/^submitted task \(sim-[^ ]*\).*/\1/p')
[ -n "$id2" ] || fail "the second generate named no sim- task id"
[ "$id1" != "$id2" ] || fail "the second video got the first one's id $id1"
printf '%s\n' "$out" | grep -qF -- "--simulate" || fail "the follow-up hint lost --simulate"

step kling-omni-mcp status "$id2" --wait --simulate --download ./out
printf '%s\n' "$out" | grep -qF "✔ task $id2: succeed" || fail "$id2 was not followed to succeed from another process"
cmp -s "out/$id2.mp4" "$repo/src/simulator/assets/sample.mp4" || fail "out/$id2.mp4 is not the simulator's MP4"

# 2. The listing shows both, once each, marked simulated.
in_readme "kling-omni-mcp list"
step kling-omni-mcp list --json
ids=$(printf '%s\n' "$out" | sed -n 's/^ *"task_id": "\([^"]*\)".*/\1/p' | sort)
[ "$(printf '%s\n' "$ids" | wc -l)" = 2 ] || fail "list shows $(printf '%s\n' "$ids" | wc -l) tasks, not 2"
[ -z "$(printf '%s\n' "$ids" | uniq -d)" ] || fail "list shows a task id twice"
[ "$(printf '%s\n' "$out" | grep -c '"simulated": true')" = 2 ] || fail "list does not mark both as simulated"
step kling-omni-mcp list

# 3. The checks, and a client config to paste.
in_readme "kling-omni-mcp doctor"
step kling-omni-mcp doctor --simulate
in_readme "kling-omni-mcp config claude-code"
step kling-omni-mcp config claude-code
printf '%s\n' "$out" | grep -qF "claude mcp add kling-omni-mcp" || fail "config claude-code printed no command"

# 4. The HTTP service with its token, as "Running as an HTTP service" shows it (simulated, on
#    a free port instead of 8787, since a newcomer has no key).
in_readme "(umask 077; openssl rand -hex 32 > ~/.config/kling-omni-mcp/http-token)"
in_readme "--http-token-file ~/.config/kling-omni-mcp/http-token"
in_readme 'Authorization: Bearer $(cat ~/.config/kling-omni-mcp/http-token)'
mkdir -p ~/.config/kling-omni-mcp
(umask 077; openssl rand -hex 32 > ~/.config/kling-omni-mcp/http-token)
[ "$(stat -c %a ~/.config/kling-omni-mcp/http-token)" = 600 ] || fail "the token file is readable by others"
echo "\$ kling-omni-mcp --simulate --http 127.0.0.1:0 --http-token-file ~/.config/kling-omni-mcp/http-token &" >&2
kling-omni-mcp --simulate --http 127.0.0.1:0 --http-token-file ~/.config/kling-omni-mcp/http-token \
  >"$home/.http-out" 2>"$home/.http-err" &
server_pid=$!
url=
for _ in $(seq 1 600); do
  url=$(sed -n 's/.*MCP streamable HTTP listening url=\(http:[^ ]*\).*/\1/p' "$home/.http-err" | head -n 1)
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || fail "the HTTP server stopped: $(cat "$home/.http-err")"
  sleep 0.1
done
[ -n "$url" ] || fail "the HTTP server did not say where it listens"
origin=${url%/mcp}
step curl -sS --fail "$origin/healthz"
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"newcomer","version":"1"}}}'
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$url" -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' --data "$init")
[ "$code" = 401 ] || fail "an initialize without the token got $code, not 401"
step curl -sS --fail -X POST "$url" -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' \
  -H "Authorization: Bearer $(cat ~/.config/kling-omni-mcp/http-token)" --data "$init"
printf '%s\n' "$out" | grep -qF '"serverInfo"' || fail "the authenticated initialize got no serverInfo"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=
if grep -E '(^|[[:space:]])(ERROR|WARN)[[:space:]]' "$home/.http-err" >/dev/null; then
  fail "the HTTP server logged a warning or error: $(grep -E 'ERROR|WARN' "$home/.http-err")"
fi
grep -qF "$(cat ~/.config/kling-omni-mcp/http-token)" "$home/.http-err" && fail "the HTTP server logged its token"

echo "newcomer: all steps passed ($id1, $id2)" >&2

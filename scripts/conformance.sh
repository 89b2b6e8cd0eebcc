#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, pinned, on Node 22
# from the npm registry) against `kling-omni-mcp --simulate --http`, three times:
#   1. the active suite at the 2025-11-25 wire (initialize handshake, sessions), expected
#      failures in conformance/baseline.yml;
#   2. the 2026-07-28 requirement set (stateless, per-request _meta), expected failures in
#      conformance/baseline-2026-07-28.yml;
#   3. the tasks-capability-negotiation scenario on its own, with the same baseline: inside the
#      requirement set it is an extension scenario, run but never scored, so only this run can
#      fail on it.
# Exits non-zero on any unexpected failure or stale baseline entry in any of the three.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.2.0-alpha.12
target=${CARGO_TARGET_DIR:-target}
tools=$target/conformance-tools
package=$tools/node_modules/@modelcontextprotocol/conformance/package.json
if [ ! -x "$tools/node_modules/.bin/conformance" ] || [ ! -x "$tools/node_modules/.bin/node" ] ||
  ! grep -q "\"version\": \"$version\"" "$package" 2>/dev/null; then
  echo "== installing node@22 and @modelcontextprotocol/conformance@$version into $tools"
  mkdir -p "$tools"
  npm install --prefix "$tools" --save-exact --no-audit --no-fund --loglevel=error \
    node@22 "@modelcontextprotocol/conformance@$version"
fi
case $tools in
  /*) export PATH="$tools/node_modules/.bin:$PATH" ;;
  *) export PATH="$PWD/$tools/node_modules/.bin:$PATH" ;;
esac
echo "== node $(node --version), conformance $(conformance --version)"

cargo build --locked --quiet
log=$target/conformance-server.log
"$target/debug/kling-omni-mcp" --simulate --http 127.0.0.1:0 --store off 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT

url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/.*MCP streamable HTTP listening url=\([^ ]*\).*/\1/p' "$log" | head -n 1)
  [ -n "$url" ] && break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "the server did not start:" >&2
  cat "$log" >&2
  exit 1
fi

results=$target/conformance-results
rm -rf "$results"
failed=()
run() {
  local name=$1
  shift
  echo
  echo "== conformance: $name against $url"
  if ! kill -0 "$server" 2>/dev/null; then
    echo "the server exited:" >&2
    cat "$log" >&2
    exit 1
  fi
  conformance server --url "$url" --output-dir "$results/$name" "$@" || failed+=("$name")
}
run active-2025-11-25 --expected-failures conformance/baseline.yml
run requirements-2026-07-28 --requirements 2026-07-28 \
  --expected-failures conformance/baseline-2026-07-28.yml
run tasks-capability-negotiation --scenario tasks-capability-negotiation \
  --expected-failures conformance/baseline-2026-07-28.yml

if [ ${#failed[@]} -gt 0 ]; then
  echo >&2
  echo "conformance failed: ${failed[*]} (results in $results)" >&2
  exit 1
fi
echo
echo "== conformance: all three runs match their baselines"

#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, on Node 22 from
# the npm registry) against `kling-omni-mcp --simulate --http`, with the expected failures in
# conformance/baseline.yml. Exits non-zero on any unexpected failure or stale baseline entry.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=target/conformance-tools
if [ ! -x "$tools/node_modules/.bin/conformance" ] || [ ! -x "$tools/node_modules/.bin/node" ]; then
  echo "== installing node@22 and @modelcontextprotocol/conformance into $tools"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
    node@22 @modelcontextprotocol/conformance@0.1.16
fi
export PATH="$PWD/$tools/node_modules/.bin:$PATH"
echo "== node $(node --version), conformance $(conformance --version)"

cargo build --locked --quiet
log=target/conformance-server.log
target/debug/kling-omni-mcp --simulate --http 127.0.0.1:0 --store off 2>"$log" &
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

echo "== conformance suite against $url"
conformance server --url "$url" --expected-failures conformance/baseline.yml \
  --output-dir target/conformance-results

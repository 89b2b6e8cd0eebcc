#!/usr/bin/env bash
# Builds every install artifact into target/dist/ — no arguments:
#   bin/TARGET/kling-omni-mcp[.exe]           the release binaries (here: the native one)
#   kling-omni-mcp-VERSION-TARGET.tar.gz|zip  release archives (cargo binstall reads these)
#   npm/kling-omni-mcp-VERSION.tgz            the launcher package (npx -y kling-omni-mcp)
#   npm/kling-omni-mcp-PLATFORM-VERSION.tgz   one package per platform with a binary here
#   kling-omni-mcp-VERSION.mcpb               the Claude Desktop bundle (mcpb validate + pack)
#   server.json                               the MCP Registry entry, with the bundle's SHA-256
#   SHA256SUMS
# Locally it builds the native target (scripts/build-release.sh). The release workflow first builds
# every target and sets KLING_DIST_PREBUILT=DIR (DIR/TARGET/kling-omni-mcp[.exe]), then runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/package-tools.sh

node scripts/packaging.mjs stamp # the committed copies carry Cargo.toml's version
version=$(node -p 'require("./npm/kling-omni-mcp/package.json").version')
dist=target/dist
rm -rf "$dist/npm" "$dist/mcpb-stage" "$dist"/*.tar.gz "$dist"/*.zip "$dist"/*.mcpb \
  "$dist/server.json" "$dist/SHA256SUMS"
mkdir -p "$dist/npm"

# 1. Binaries.
if [ -n "${KLING_DIST_PREBUILT:-}" ]; then
  echo "== release binaries from $KLING_DIST_PREBUILT"
  rm -rf "$dist/bin"
  mkdir -p "$dist/bin"
  cp -R "$KLING_DIST_PREBUILT"/. "$dist/bin/"
else
  echo "== release build of the native target"
  bash scripts/build-release.sh >/dev/null
fi
chmod +x "$dist"/bin/*/kling-omni-mcp* 2>/dev/null || true
native=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p' || true)

# A target's binary; the native gnu build stands in for its musl twin when that was not built
# (a local run: the static musl builds come from the release workflow).
binary_for() {
  local target=$1 exe=""
  case "$target" in *windows*) exe=".exe" ;; esac
  if [ -f "$dist/bin/$target/kling-omni-mcp$exe" ]; then
    echo "$dist/bin/$target/kling-omni-mcp$exe"
  elif [[ "$target" == *-linux-musl ]] && [ "${target%-musl}-gnu" = "$native" ] \
    && [ -f "$dist/bin/$native/kling-omni-mcp" ]; then
    echo "$dist/bin/$native/kling-omni-mcp"
  fi
}

# 2. Release archives, one per target: kling-omni-mcp-VERSION-TARGET/{binary, README, licenses}.
for dir in "$dist"/bin/*/; do
  target=$(basename "$dir")
  name="kling-omni-mcp-$version-$target"
  stage="$dist/archive-stage/$name"
  rm -rf "$dist/archive-stage"
  mkdir -p "$stage"
  cp "$dir"/kling-omni-mcp* README.md LICENSE-MIT LICENSE-APACHE "$stage/"
  if [[ "$target" == *windows* ]]; then
    (cd "$dist/archive-stage" && python3 -m zipfile -c "../$name.zip" "$name")
  else
    tar -C "$dist/archive-stage" -czf "$dist/$name.tar.gz" "$name"
  fi
  rm -rf "$dist/archive-stage"
done

# 3. npm: the launcher and a platform package for each binary there is.
echo "== npm packages"
cp -R npm/kling-omni-mcp "$dist/npm/kling-omni-mcp"
cp LICENSE-MIT LICENSE-APACHE "$dist/npm/kling-omni-mcp/"
(cd "$dist/npm" && npm pack --silent ./kling-omni-mcp >/dev/null)
while read -r key target; do
  bin=$(binary_for "$target")
  if [ -z "$bin" ]; then
    echo "   (no binary for $key: $target is built by the release workflow)"
    continue
  fi
  node scripts/packaging.mjs npm-platform "$key" "$bin" "$dist/npm/$key"
  cp LICENSE-MIT LICENSE-APACHE "$dist/npm/$key/"
  (cd "$dist/npm" && npm pack --silent "./$key" >/dev/null)
  echo "   $key from $bin"
done < <(node -e 'for (const [k, v] of Object.entries(require("./npm/kling-omni-mcp/platforms.json"))) if (k !== "//") console.log(k, v.target)')

# 4. The MCP bundle: macOS (universal), Windows x64 and Linux x64, whichever are here.
echo "== MCP bundle"
pairs=()
for spec in darwin=universal-apple-darwin win32=x86_64-pc-windows-msvc linux=x86_64-unknown-linux-musl; do
  bin=$(binary_for "${spec#*=}")
  if [ -n "$bin" ]; then pairs+=("${spec%%=*}=$bin"); else echo "   (no ${spec%%=*} binary here)"; fi
done
node scripts/packaging.mjs mcpb-stage "$dist/mcpb-stage" "${pairs[@]}"
mcpb validate "$dist/mcpb-stage/manifest.json"
mcpb pack "$dist/mcpb-stage" "$dist/kling-omni-mcp-$version.mcpb" >"$dist/mcpb-pack.log"
rm -rf "$dist/mcpb-stage"

# 5. The registry entry for this bundle, checked against the registry's schema.
node scripts/packaging.mjs server-json "$dist/kling-omni-mcp-$version.mcpb" "$dist/server.json"
node scripts/packaging.mjs validate-server-json "$SERVER_SCHEMA" "$dist/server.json"

# 6. Checksums and a listing.
(cd "$dist" && shopt -s nullglob && sha256sum -- *.tar.gz *.zip *.mcpb server.json >SHA256SUMS)
echo "== target/dist"
(cd "$dist" && shopt -s nullglob && ls -l -- *.tar.gz *.zip *.mcpb npm/*.tgz server.json SHA256SUMS \
  | awk '{printf "   %10d  %s\n", $5, $9}')

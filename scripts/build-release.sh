#!/usr/bin/env bash
# Builds the release binary for one Rust target and copies it to target/dist/bin/TARGET/.
# The release workflow (.github/workflows/release.yml) runs this on every target; scripts/package.sh
# runs it for the native one. With no argument: the host's target.
#   bash scripts/build-release.sh [TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
target=${1:-$host}
exe=""
case "$target" in *windows*) exe=".exe" ;; esac

if [[ "$target" == *-linux-musl ]]; then
  # Statically linked (musl's default). The C parts (bundled SQLite, ring) build with musl-gcc
  # (Debian/Ubuntu: musl-tools) unless CC_<target> says otherwise.
  cc_var="CC_${target//-/_}"
  if [ -z "${!cc_var:-}" ] && command -v musl-gcc >/dev/null; then
    export "$cc_var=musl-gcc"
  fi
  export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static"
fi

if [ "$target" = "$host" ] && [ -z "${KLING_BUILD_EXPLICIT_TARGET:-}" ]; then
  # The native build lands where `cargo build --release` puts it, so it is shared with
  # every other release build of this checkout.
  cargo build --release --locked
  built="${CARGO_TARGET_DIR:-target}/release/kling-omni-mcp$exe"
else
  cargo build --release --locked --target "$target"
  built="${CARGO_TARGET_DIR:-target}/$target/release/kling-omni-mcp$exe"
fi
mkdir -p "target/dist/bin/$target"
cp "$built" "target/dist/bin/$target/kling-omni-mcp$exe"
echo "target/dist/bin/$target/kling-omni-mcp$exe"

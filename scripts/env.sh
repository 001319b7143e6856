# Sourced by every script: Debian's Rust toolchain (rustc-web, which can build std for wasm32)
# ahead of rustup's proxies, the project's tools, and the Leptos build settings.
TOOLS_DIR="${TECHBIZ_TOOLS:-$HOME/.local/techbiz-tools}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TOOLS_DIR ROOT
export PATH="/usr/bin:$TOOLS_DIR/bin:$ROOT/end2end/node_modules/.bin:$PATH"
# The Node.js that scripts/setup.sh installs when the system's is older than end2end/ needs.
if [ -x "$TOOLS_DIR/node/bin/node" ]; then
  export PATH="$TOOLS_DIR/node/bin:$PATH"
fi
# Native code links with LLD once scripts/setup.sh has put it on the PATH as ld.lld (its
# step 7 says why); until then with the system's linker.
if [ -x "$TOOLS_DIR/bin/ld.lld" ]; then
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-Clink-arg=-fuse-ld=lld"
fi
export CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
export LEPTOS_OUTPUT_NAME=techbiz-invite
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_RELOAD_PORT="${LEPTOS_RELOAD_PORT:-3001}"
# The wasm build gets its own target folder: its host crates are built with RUSTC_BOOTSTRAP,
# and sharing one folder would rebuild them for every switch between the two builds.
export WASM_TARGET_DIR="$ROOT/target/wasm"
export PG_PORT="${TECHBIZ_PG_PORT:-55432}"
export PG_DATA="${TECHBIZ_PG_DATA:-/var/tmp/tbi-test-postgres}"
export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:$PG_PORT/postgres}"

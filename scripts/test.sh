#!/usr/bin/env bash
# Every test layer, in order, failing at the first failure:
#   the Node.js version, format, clippy (ssr native; hydrate for wasm32), unit + property
#   tests, server tests on SQLite and PostgreSQL, release build, Playwright in Debian's Chromium.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

step "Node.js meets end2end/package-lock.json (scripts/check-node.mjs and its tests)"
node scripts/check-node.mjs
node --test scripts/check-node.test.mjs

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy: app + server (ssr, native)"
env -u RUSTC_BOOTSTRAP cargo clippy --release -p app --features ssr --all-targets -- -D warnings
env -u RUSTC_BOOTSTRAP cargo clippy --release -p server --all-targets -- -D warnings

step "clippy: app + frontend (hydrate, wasm32)"
RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$WASM_TARGET_DIR" cargo clippy -p app -p frontend --features app/hydrate \
  --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort --profile wasm-release -- -D warnings

step "PostgreSQL for the database tests"
scripts/postgres.sh

step "unit, property and server tests (SQLite and PostgreSQL)"
env -u RUSTC_BOOTSTRAP cargo test --release -p app --features ssr
env -u RUSTC_BOOTSTRAP cargo test --release -p server -- --test-threads 4 2>&1 | tee target/server-tests.log
# Every database test has a ::sqlite and a ::postgres variant; show that both really ran.
sqlite_ok=$(grep -c '::sqlite \.\.\. ok' target/server-tests.log || true)
postgres_ok=$(grep -c '::postgres \.\.\. ok' target/server-tests.log || true)
echo "database tests passed: sqlite $sqlite_ok, postgres $postgres_ok"
[ "$sqlite_ok" -gt 0 ] && [ "$sqlite_ok" -eq "$postgres_ok" ] || { echo "database tests did not run on both databases" >&2; exit 1; }

step "release build"
scripts/build.sh

step "Playwright (headless Debian Chromium)"
(cd end2end && npx playwright test)

echo
echo "make test: all layers passed in $((SECONDS - started)) s"

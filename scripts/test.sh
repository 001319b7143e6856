#!/usr/bin/env bash
# Every test layer, in order, failing at the first failure:
#   the Node.js version, format, the native build with clippy, the wasm32 build with clippy,
#   unit + property tests and server tests on SQLite and PostgreSQL, Playwright in Debian's
#   Chromium against the server binary the native build made, and the chaos test: three of
#   those servers on the tests' PostgreSQL behind haproxy, killed and restarted under twenty
#   officers' uploads (scripts/chaos.sh short). Each layer's time is printed at the end.
#
# One compilation per target, shared by clippy, the tests and Playwright, in the `quick` and
# `wasm-quick` profiles (Cargo.toml: unoptimised native code, a front end without LTO; the
# release profiles are for make run and make bench):
# - clippy lints the workspace's crates while they are compiled for real
#   (RUSTC_WORKSPACE_WRAPPER=clippy-driver, as `cargo clippy` does for its check-only pass),
#   with -D warnings: a lint fails the layer that compiles the crate;
# - the native side is one `cargo test --no-run` of app and server, which also makes the
#   server binary (cargo builds a package's binaries for its integration tests); the test run
#   compiles nothing, because it selects the same packages and features;
# - the front end is scripts/build.sh's wasm32 build, linted likewise.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
mkdir -p target
started=$SECONDS
layer_names=()
layer_secs=()
report() {
  local status=$?
  printf '\n%-52s %7s\n' "layer" "seconds"
  local i
  for i in "${!layer_names[@]}"; do
    printf '%-52s %7s\n' "${layer_names[$i]}" "${layer_secs[$i]}"
  done
  printf '%-52s %7s\n' "total" "$((SECONDS - started))"
  # A browser test that failed once and passed when retried (CI retries once) is named here,
  # at the end, where CI shows it: a flaky test is a defect to mend, not noise.
  if [ "$status" -eq 0 ] && grep -q '^FLAKY' target/playwright-failures.txt 2>/dev/null; then
    echo "Playwright tests that passed only when retried:"
    cat target/playwright-failures.txt
  fi
  if [ "$status" -eq 0 ]; then
    echo "make test: all layers passed in $((SECONDS - started)) s"
  else
    echo "make test: failed in layer \"${current:-?}\" after $((SECONDS - started)) s" >&2
  fi
}
trap report EXIT
# layer NAME: starts timing a layer (ends the previous one).
current=""
layer_start=$SECONDS
layer() {
  if [ -n "$current" ]; then
    layer_names+=("$current")
    layer_secs+=("$((SECONDS - layer_start))")
  fi
  current="$1"
  layer_start=$SECONDS
  [ -n "$current" ] && printf '\n==> %s\n' "$current"
  return 0
}

# clippy-driver compiles the workspace's crates (dependencies stay with rustc) and lints
# them on the way; CLIPPY_ARGS is how `cargo clippy -- -D warnings` passes its arguments.
export RUSTC_WORKSPACE_WRAPPER=clippy-driver
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# The native packages and features of every native cargo command here (see above).
native=(--profile quick -p app -p server --no-default-features --features app/ssr)
server_bin="$ROOT/target/quick/techbiz-invite"

layer "Node.js meets end2end/package-lock.json (scripts/check-node.mjs and its tests)"
node scripts/check-node.mjs
node --test scripts/check-node.test.mjs

layer "the test OpenID provider (end2end/oidc/provider.selftest.mjs)"
(cd end2end && node --test oidc/provider.selftest.mjs)

layer "make bench's wasm reader (end2end/bench/wasm-functions.test.mjs)"
node --test end2end/bench/wasm-functions.test.mjs

layer "cargo fmt --check"
cargo fmt --all -- --check

# Every page loads the page's bundle; the parser's crates belong to the worker's bundle only
# (`make bench` weighs both and fails when the page's passes its budget). The worker's crate
# must have them, so the check is known to see them.
layer "the page's bundle has no parser crate in it (cargo tree, wasm32)"
parser_crates=(csv-core calamine zip encoding_rs quick-xml)
parser_regex="^($(IFS='|'; echo "${parser_crates[*]}"))\$"
wasm_deps() {
  cargo tree -p "$1" --target wasm32-unknown-unknown -e normal --prefix none | awk '{print $1}' | sort -u
}
worker_has=$(wasm_deps parse-worker | grep -E "$parser_regex" | tr '\n' ' ')
[ "$(wc -w <<<"$worker_has")" -eq "${#parser_crates[@]}" ] ||
  { echo "the worker's bundle should have ${parser_crates[*]}; it has: $worker_has" >&2; exit 1; }
page_has=$(wasm_deps frontend | grep -E "$parser_regex" | tr '\n' ' ' || true)
[ -z "$page_has" ] ||
  { echo "the page's bundle (crate frontend) depends on $page_has: move the code that needs it behind app's 'parser' feature" >&2; exit 1; }
echo "the worker's bundle has $worker_has; the page's has none of them"

# The native build, then the front end's (wasm32, its own target folder), each alone on both
# cores. Side by side, or beside the tests, they took longer in all than one after the other
# (two cores, four compilers): alone, the native build took 306 s and the front end's about
# 315 s; at once, 717-728 s and 771-794 s; the front end's beside the database tests 489 s.
layer "build + clippy: native (app + server)"
env -u RUSTC_BOOTSTRAP cargo test "${native[@]}" --lib --tests --benches --no-run

layer "build + clippy: the front end (wasm32)"
BUILD_ONLY=wasm WASM_PROFILE=wasm-quick scripts/build.sh

layer "PostgreSQL for the database tests"
scripts/postgres.sh
# (The databases of earlier runs on this server, which they leave.)
scripts/postgres.sh tidy

layer "run: unit, property and server tests (SQLite and PostgreSQL)"
env -u RUSTC_BOOTSTRAP cargo test "${native[@]}" --lib --tests -- --test-threads 4 \
  2>&1 | tee target/server-tests.log
# Every database test has a ::sqlite and a ::postgres variant; show that both really ran.
sqlite_ok=$(grep -c '::sqlite \.\.\. ok' target/server-tests.log || true)
postgres_ok=$(grep -c '::postgres \.\.\. ok' target/server-tests.log || true)
echo "database tests passed: sqlite $sqlite_ok, postgres $postgres_ok"
[ "$sqlite_ok" -gt 0 ] && [ "$sqlite_ok" -eq "$postgres_ok" ] || { echo "database tests did not run on both databases" >&2; exit 1; }

# Playwright runs the server binary that the native build above made for the integration tests
# (target/quick/techbiz-invite, the same profile and code): building it again with
# `cargo build -p server` would resolve some dependencies' features differently (without the
# dev-dependencies) and compile them a second time for nothing the browser tests can see.
[ -x "$server_bin" ] ||
  { echo "the native build made no server binary ($server_bin)" >&2; exit 1; }
export SERVER_BIN="$server_bin"

layer "Playwright (headless Debian Chromium)"
rm -rf target/e2e-logs target/playwright-report.json target/playwright-failures.txt
(cd end2end && npx playwright test) || {
  # What the servers said went wrong, for the failure above (scripts/e2e-server.sh).
  for log in target/e2e-logs/*.log; do
    [ -f "$log" ] || continue
    echo "--- warnings and errors in $log (the last 30)"
    grep -E 'WARN|ERROR' "$log" | tail -n 30 || true
  done
  # Which tests failed and why, last: CI shows the end of the output.
  echo "--- the tests that failed (target/playwright-report.json)"
  node scripts/playwright-failures.mjs target/playwright-report.json
  exit 1
}
node scripts/playwright-failures.mjs target/playwright-report.json > target/playwright-failures.txt

# The same binary, three times on the PostgreSQL started above (a database of its own),
# behind haproxy: kill -9 and a rolling SIGTERM deploy while officers upload (SERVER_BIN).
layer "chaos: 3 instances behind haproxy, kill -9 and a rolling deploy (scripts/chaos.sh short)"
scripts/chaos.sh short

layer ""

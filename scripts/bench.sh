#!/usr/bin/env bash
# `make bench`: figures from this machine, not a pass/fail test.
#   parse   batch upload files (CSV and xlsx, 10k and 100k rows) parsed in one headless
#           Chromium page by our wasm parser, SheetJS and PapaParse, as medians and ratios
#           against the targets (xlsx ≤ 0.30× SheetJS, CSV ≤ 0.50× PapaParse);
#   responsive  the real batch upload page, on the real server, while a 100k-row CSV and xlsx
#           are parsed: main-thread tasks over 50 ms (a `longtask` PerformanceObserver),
#           against the target of none over 200 ms;
#   submit  a 10k-row batch submitted on SQLite and on PostgreSQL, in rows per second.
# Each section is a function bench_<name> that writes its summary to target/bench/<name>.txt;
# the summaries are printed together at the end. To add a section, write its function and
# add its name to SECTIONS.
# Usage: scripts/bench.sh [section ...]   (default: every section)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
SECTIONS=(parse responsive submit)
out=target/bench
mkdir -p "$out"
step() { printf '\n==> %s\n' "$*"; }

# The CSV and xlsx files of 10k and 100k users (the same every time), made when missing.
bench_data() {
  local f
  for f in users-10k.csv users-100k.csv users-10k.xlsx users-100k.xlsx; do
    if [ ! -f "$out/$f" ] || [ end2end/bench/make-data.mjs -nt "$out/$f" ]; then
      step "writing the test files into $out"
      (cd end2end && node bench/make-data.mjs "../$out")
      break
    fi
  done
}

bench_parse() {
  bench_data
  step "parse: ours, SheetJS and PapaParse in headless Chromium (a few minutes)"
  (cd end2end && node bench/parse-bench.mjs --json "../$out/parse.json") | tee "$out/parse.txt"
}

bench_responsive() {
  bench_data
  step "responsive: the batch upload page while 100k-row files are parsed (Playwright)"
  rm -f "$out/responsive.json"
  (cd end2end && BENCH_DATA="$ROOT/$out" BENCH_OUT="$ROOT/$out/responsive.json" \
    npx playwright test --config playwright.bench.config.ts)
  node - "$out/responsive.json" <<'JS' | tee "$out/responsive.txt"
const results = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const pad = (s, n) => String(s).padStart(n);
console.log('responsive (main thread, longtask observer)  rows     shown  longest task  tasks >50 ms  >200 ms  target');
for (const r of results) {
  console.log(
    `${r.file.padEnd(44)}${pad(r.rows.toLocaleString('en'), 7)}${pad((r.shownMs / 1000).toFixed(1) + ' s', 10)}` +
      `${pad(r.longestMs.toFixed(0) + ' ms', 14)}${pad(r.longTasks, 14)}${pad(r.over200, 9)}  ` +
      `${r.over200 === 0 ? 'meets' : 'misses'} (no task over 200 ms)`,
  );
}
JS
}

bench_submit() {
  step "submit: PostgreSQL on 127.0.0.1:$PG_PORT"
  # Stop PostgreSQL afterwards only if this run started it (each section runs in a subshell,
  # so this trap fires when the section ends).
  local started
  started=$(scripts/postgres.sh)
  if [ -n "$started" ]; then
    echo "$started"
    trap 'scripts/postgres.sh stop' EXIT
  fi
  step "submit: 10k rows on SQLite and PostgreSQL (cargo bench -p server --bench submit)"
  env -u RUSTC_BOOTSTRAP cargo bench -p server --bench submit 2>&1 | tee "$out/submit.log"
  grep -E '^submit .*rows/s' "$out/submit.log" > "$out/submit.txt" || true
  # The benchmark skips PostgreSQL when it cannot reach it; here both figures are required.
  local db
  for db in sqlite postgres; do
    if ! grep -q "^submit [0-9]* rows $db: " "$out/submit.txt"; then
      echo "bench: no submit figure for $db (see $out/submit.log)" >&2
      return 1
    fi
  done
}

if [ $# -gt 0 ]; then sections=("$@"); else sections=("${SECTIONS[@]}"); fi
for s in "${sections[@]}"; do
  declare -F "bench_$s" >/dev/null || { echo "bench: no section '$s' (have: ${SECTIONS[*]})" >&2; exit 2; }
  rm -f "$out/$s.txt"
done

step "build: release server and wasm front end"
scripts/build.sh

# A section that fails does not stop the others; the run fails at the end.
failed=()
for s in "${sections[@]}"; do
  set +e
  (set -e; "bench_$s")
  status=$?
  set -e
  [ "$status" -eq 0 ] || failed+=("$s")
done

step "summary ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs)"
for s in "${sections[@]}"; do
  echo
  cat "$out/$s.txt" 2>/dev/null || echo "$s: no figures"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo
  echo "bench: FAILED: ${failed[*]} (see above)" >&2
  exit 1
fi

#!/usr/bin/env bash
# Fuzzes the batch upload parsers (app/fuzz): each target for FUZZ_SECONDS (default 60).
# Installs cargo-fuzz into the project's tools folder if it is missing (idempotent).
#   scripts/fuzz.sh                 # both targets
#   scripts/fuzz.sh parse_xlsx      # one target
# Targets: parse_csv and parse_xlsx (any bytes as a .csv / .xlsx file) and parse_sheet_xml
# (any bytes as a worksheet's XML inside a valid workbook, to get past the zip checks).
# Debian's rustc (1.96, rustc-web) acts as nightly with RUSTC_BOOTSTRAP=1. The address
# sanitizer is off (FUZZ_SANITIZER=none): Debian's rustc has no ASan runtime for it. Overflow
# checks and debug assertions are on (-a), as in the unit tests. Findings are saved under
# app/fuzz/artifacts/<target>/; re-run one with `cargo fuzz run <target> <file>`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT/app/fuzz"

seconds="${FUZZ_SECONDS:-60}"
sanitizer="${FUZZ_SANITIZER:-none}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse_csv parse_xlsx parse_sheet_xml)

if ! command -v cargo-fuzz >/dev/null; then
  echo "fuzz: installing cargo-fuzz into $TOOLS_DIR (a few minutes)"
  cargo install cargo-fuzz --locked --root "$TOOLS_DIR"
fi

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$ROOT/app/fuzz/target"
# Fuzz the versions the app ships: start the fuzz crate's lock file from the workspace's.
[ -f Cargo.lock ] || cp "$ROOT/Cargo.lock" Cargo.lock

# Seed corpora: the fixtures (valid and hostile), so the fuzzer starts from real files, and
# for parse_sheet_xml a worksheet with each kind of cell.
mkdir -p corpus/parse_csv corpus/parse_xlsx corpus/parse_sheet_xml
cp -n "$ROOT"/end2end/fixtures/batch/*.csv "$ROOT"/end2end/fixtures/batch/*.txt corpus/parse_csv/ 2>/dev/null || true
cp -n "$ROOT"/end2end/fixtures/batch/*.xlsx corpus/parse_xlsx/ 2>/dev/null || true
[ -f corpus/parse_sheet_xml/seed.xml ] || cat > corpus/parse_sheet_xml/seed.xml <<'XML'
<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:I3"/><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>a@tech.gov.sg</t></is></c><c r="B2" t="str"><f>"x"</f><v>Ann</v></c><c r="C2" t="s"><v>3</v></c><c r="D2"><v>6591234567</v></c><c r="E2" t="b"><v>1</v></c><c r="F2" s="1"><v>45292</v></c><c r="G2" t="e"><v>#N/A</v></c><c r="H2" t="d"><v>2024-01-31T00:00:00</v></c></row><row><c><v>1.5</v></c></row></sheetData></worksheet>
XML
# The bomb is refused in microseconds but inflates libFuzzer's view of input size.
rm -f corpus/parse_xlsx/bomb.xlsx

status=0
for target in "${targets[@]}"; do
  echo "fuzz: $target for ${seconds}s"
  if ! nice -n 10 cargo fuzz run --sanitizer "$sanitizer" --debug-assertions "$target" \
       "corpus/$target" -- -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=4096 \
       -print_final_stats=1; then
    echo "fuzz: $target FOUND A PROBLEM (see app/fuzz/artifacts/$target/)"
    status=1
  fi
done
exit $status

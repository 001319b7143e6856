#!/usr/bin/env bash
# Builds the site exactly as cargo-leptos would lay it out, without needing cargo-leptos:
#   target/site/pkg/techbiz-invite{.js,_bg.wasm→.wasm,.css} (the page's bundle), split as
#   `cargo leptos build --split` does: the main module every page loads, and the lazily
#   loaded parts of the lazy routes (split_*.wasm, shared chunk_*.wasm, their loader
#   __wasm_split.*.js and __wasm_split_manifest.json, from which a page preloads its parts),
#   target/site/pkg/parser.{js,wasm} (the parsing worker's), public/ copied to target/site/,
#   and the server binary target/release/techbiz-invite.
# BUILD_ONLY=wasm stops after the front end (the server binary is left as it is);
# BUILD_ONLY=server builds only the server binary.
# WASM_PROFILE=wasm-quick builds the front end without LTO or wasm-opt (make test's build;
# Cargo.toml says why); the default is the production profiles, wasm-page for the page's
# bundle and wasm-release for the parser's.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
site="$LEPTOS_SITE_ROOT"
pkg="$site/$LEPTOS_SITE_PKG_DIR"

wasm_profile="${WASM_PROFILE:-wasm-release}"

# wasm_bundle CRATE NAME PROFILE WASM_OPT_FLAGS...: builds CRATE for wasm32 with PROFILE, runs
# wasm-bindgen to $pkg/NAME.{js,wasm} and, for a production profile, wasm-opt with those flags.
wasm_bundle() {
  local crate=$1 name=$2 profile=$3
  shift 3
  local opt_flags=("$@")
  echo "build: $name bundle (crate $crate, wasm32, std built from rust-web-src, profile $profile)"
  # The page's production bundle aborts on a panic without formatting it and keeps no source
  # locations: the panic machinery, file names and line numbers are a good part of a
  # size-optimised Leptos bundle, and a production page has no one to print them to. (The
  # variable replaces .cargo/config.toml's wasm32 flags, so it repeats them.) The parser
  # keeps its messages: the worker reports them.
  local flags
  flags=$(sed -n 's/^rustflags = \[\(.*\)\]$/\1/p' .cargo/config.toml | tr -d '",')
  if [ "$profile" = wasm-page ]; then
    flags="$flags -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
  fi
  # The page's bundle is split at its lazy routes: its link keeps the relocations that
  # wasm-split reads. Given to that crate's rustc alone (`cargo rustc ... -- ARGS`), not in
  # the flags of every crate, so that the two bundles still share std and their dependencies
  # where their flags are the same (make test's build).
  local link_args=()
  if [ "$split" = 1 ]; then link_args=(-- -Clink-args=--emit-relocs); fi
  # make test's quick build: the worker's crate gets the page's dependencies with the page's
  # features (app's `page-deps`), so it reuses the page's build of them (app/Cargo.toml).
  local features=()
  if [ "$profile" = wasm-quick ] && [ "$crate" = parse-worker ]; then features=(--features app/page-deps); fi
  RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$WASM_TARGET_DIR" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$flags" \
    cargo rustc -p "$crate" --lib "${features[@]}" \
    --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort --profile "$profile" "${link_args[@]}"
  mkdir -p "$pkg"
  local input="$WASM_TARGET_DIR/wasm32-unknown-unknown/$profile/${crate//-/_}.wasm"
  local bindgen_flags=()
  local parts=()
  if [ "$split" = 1 ]; then
    # The main module (every page) to $pkg/NAME_split.wasm for wasm-bindgen; each lazy
    # route's part and the parts they share to $pkg, with their loader and manifest.
    rm -f "$pkg"/__wasm_split* "$pkg"/split_*.wasm* "$pkg"/chunk_*.wasm*
    wait "$split_build" || { echo "build: the wasm-split tool (frontend/split) did not build" >&2; exit 1; }
    "$split_tool" "$input" "$pkg" "$name"
    input="$pkg/${name}_split.wasm"
    bindgen_flags=(--keep-lld-exports --no-demangle)
    mapfile -t parts < <(ls "$pkg"/split_*.wasm "$pkg"/chunk_*.wasm 2>/dev/null || true)
  fi
  wasm-bindgen --target web --no-typescript "${bindgen_flags[@]}" --out-dir "$pkg" --out-name "$name" "$input"
  if [ "$split" = 1 ]; then rm -f "$input"; fi
  mv -f "$pkg/${name}_bg.wasm" "$pkg/$name.wasm"
  sed -i "s/${name}_bg.wasm/${name}.wasm/" "$pkg/$name.js"
  local opt_version
  opt_version=$(wasm-opt --version 2>/dev/null | grep -o '[0-9]\+' | head -1 || true)
  if [ "$profile" = wasm-quick ]; then
    echo "build: wasm-opt skipped (profile $profile)"
  elif [ "${opt_version:-0}" -ge 116 ]; then
    for f in "$pkg/$name.wasm" "${parts[@]}"; do
      wasm-opt "${opt_flags[@]}" --enable-simd --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
        --enable-reference-types --enable-mutable-globals --enable-multivalue \
        "$f" -o "$f"
    done
  else
    echo "build: wasm-opt ${opt_version:-missing} is too old or absent; run scripts/setup.sh" >&2
    exit 1
  fi
}

if [ "${BUILD_ONLY:-}" != server ]; then
  # Two bundles. The page's (every page loads it): the UI and the domain rules, built for
  # size. The parsing worker's (loaded by the batch page's worker only): the CSV and xlsx
  # parser, built for speed. WASM_PROFILE=wasm-quick builds both without LTO or wasm-opt.
  if [ "$wasm_profile" = wasm-quick ]; then page_profile=wasm-quick; else page_profile=wasm-page; fi
  # The splitter (frontend/split), built natively beside the page's wasm, in a target folder
  # of its own (the native target folder's lock would hold it behind any native build).
  # Beside it costs nothing: make test's quick front end from nothing took 325 s with the
  # tool built beside, against 26 s for the tool and then 328 s for the bundles.
  if [ "$wasm_profile" = wasm-quick ]; then tool_profile=quick; else tool_profile=release; fi
  CARGO_TARGET_DIR="$ROOT/target/tools" env -u RUSTC_BOOTSTRAP cargo build -p wasm-split --profile "$tool_profile" &
  split_build=$!
  split_tool="$ROOT/target/tools/$tool_profile/wasm-split"
  split=1 wasm_bundle frontend "$LEPTOS_OUTPUT_NAME" "$page_profile" -Oz
  # The parser's wasm-opt inlines a function that has one caller only up to 200 of its
  # nodes (by default it inlines every such function, whatever its size). What runs once a
  # file and the work of a row are functions of their own on purpose (the module
  # documentation of app/src/import/mod.rs); `make bench` (section bundles) checks the largest
  # against PARSER_FUNCTION_MAX.
  split=0 wasm_bundle parse-worker parser "$wasm_profile" -O3 --one-caller-inline-max-function-size 200
  cp style/main.css "$pkg/$LEPTOS_OUTPUT_NAME.css"
  cp -r public/. "$site/"
  # Gzip and brotli copies, served to browsers that accept them (ServeDir::precompressed_*);
  # brotli by Node's zlib (Node is here for the tests), at its highest quality; make test's
  # quick build at quality 5, whose sizes nothing measures (its wasm is unoptimised, four
  # times the size): its 9.6 MB took 15.5 s at 11, 0.3 s at 5.
  # And every other script a page or the worker loads: wasm-bindgen's snippets (app/js/) and
  # the site root's (public/*.js).
  bundles=("$pkg/$LEPTOS_OUTPUT_NAME".{wasm,js,css} "$pkg"/parser.{wasm,js} "$pkg"/__wasm_split*.js
    "$pkg"/split_*.wasm "$pkg"/chunk_*.wasm)
  mapfile -t -O "${#bundles[@]}" bundles < <(find "$pkg/snippets" -name '*.js'; find "$site" -maxdepth 1 -name '*.js')
  for f in "${bundles[@]}"; do gzip -9 -k -f "$f"; done
  if [ "$wasm_profile" = wasm-quick ]; then br_quality=5; else br_quality=11; fi
  BR_QUALITY=$br_quality node -e '
    const fs = require("fs"), zlib = require("zlib");
    for (const f of process.argv.slice(1)) {
      const data = fs.readFileSync(f);
      fs.writeFileSync(f + ".br", zlib.brotliCompressSync(data, { params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: Number(process.env.BR_QUALITY),
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length } }));
    }' "${bundles[@]}"
  for name in "$LEPTOS_OUTPUT_NAME" parser; do
    echo "build: $name.wasm $(stat -c %s "$pkg/$name.wasm") bytes," \
      "$(stat -c %s "$pkg/$name.wasm.gz") gzip, $(stat -c %s "$pkg/$name.wasm.br") brotli"
  done
fi

if [ "${BUILD_ONLY:-}" = wasm ]; then
  # BUILD_ONLY=wasm: the front end only (e.g. while working on the parser and its benchmark).
  exit 0
fi

echo "build: server (release)"
env -u RUSTC_BOOTSTRAP cargo build -p server --release

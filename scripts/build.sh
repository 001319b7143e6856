#!/usr/bin/env bash
# Builds the site exactly as cargo-leptos would lay it out, without needing cargo-leptos:
#   target/site/pkg/techbiz-invite{.js,_bg.wasm→.wasm,.css}, public/ copied to target/site/,
#   and the server binary target/release/techbiz-invite.
# BUILD_ONLY=wasm stops after the front end (the server binary is left as it is);
# BUILD_ONLY=server builds only the server binary.
# WASM_PROFILE=wasm-quick builds the front end without LTO or wasm-opt (make test's build;
# Cargo.toml says why); the default is the production profile, wasm-release.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
site="$LEPTOS_SITE_ROOT"
pkg="$site/$LEPTOS_SITE_PKG_DIR"

wasm_profile="${WASM_PROFILE:-wasm-release}"

if [ "${BUILD_ONLY:-}" != server ]; then
  echo "build: front end (wasm32, std built from rust-web-src, profile $wasm_profile)"
  RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$WASM_TARGET_DIR" cargo build -p frontend --lib \
    --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort --profile "$wasm_profile"
  mkdir -p "$pkg"
  wasm-bindgen --target web --no-typescript --out-dir "$pkg" --out-name "$LEPTOS_OUTPUT_NAME" \
    "$WASM_TARGET_DIR/wasm32-unknown-unknown/$wasm_profile/frontend.wasm"
  mv -f "$pkg/${LEPTOS_OUTPUT_NAME}_bg.wasm" "$pkg/$LEPTOS_OUTPUT_NAME.wasm"
  sed -i "s/${LEPTOS_OUTPUT_NAME}_bg.wasm/${LEPTOS_OUTPUT_NAME}.wasm/" "$pkg/$LEPTOS_OUTPUT_NAME.js"
  opt_version=$(wasm-opt --version 2>/dev/null | grep -o '[0-9]\+' | head -1 || true)
  if [ "$wasm_profile" != wasm-release ]; then
    echo "build: wasm-opt skipped (profile $wasm_profile)"
  elif [ "${opt_version:-0}" -ge 116 ]; then
    # -O3, not -Oz: the batch upload parser runs in this bundle, and speed is what it is judged
    # by (about 1.5× the size, 1.1 MB gzipped).
    wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
      --enable-reference-types --enable-mutable-globals --enable-multivalue \
      "$pkg/$LEPTOS_OUTPUT_NAME.wasm" -o "$pkg/$LEPTOS_OUTPUT_NAME.wasm"
  else
    echo "build: wasm-opt ${opt_version:-missing} is too old or absent; run scripts/setup.sh" >&2
    exit 1
  fi
  cp style/main.css "$pkg/$LEPTOS_OUTPUT_NAME.css"
  cp -r public/. "$site/"
  # Gzip copies, served by the server to browsers that accept them (ServeDir::precompressed_gzip).
  for f in "$pkg/$LEPTOS_OUTPUT_NAME".{wasm,js,css}; do gzip -9 -k -f "$f"; done
  echo "build: wasm $(du -k "$pkg/$LEPTOS_OUTPUT_NAME.wasm" | cut -f1) KiB," \
    "$(du -k "$pkg/$LEPTOS_OUTPUT_NAME.wasm.gz" | cut -f1) KiB gzipped"
fi

if [ "${BUILD_ONLY:-}" = wasm ]; then
  # BUILD_ONLY=wasm: the front end only (e.g. while working on the parser and its benchmark).
  exit 0
fi

echo "build: server (release)"
env -u RUSTC_BOOTSTRAP cargo build -p server --release

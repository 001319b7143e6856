#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine. Idempotent: a second
# run only checks what is there and takes seconds.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# 1. Debian packages: the Rust toolchain that can build std for wasm32, the wasm linker,
#    Chromium for the browser tests, PostgreSQL for the database tests, Node and npm (step 3
#    replaces too old a Node), python3's venv module for the SCIM server of the tests (step 6),
#    haproxy (the load balancer in front of three servers in scripts/chaos.sh) and curl (its
#    health polls); for `make bench` only (WITH_BENCH=1), wrk (the load generator) and sqlite3
#    (to fill its database).
packages=(rustc-web cargo-web rust-web-src rust-web-clippy rustfmt-web lld-22 chromium
          postgresql nodejs npm python3-venv ca-certificates haproxy curl)
[ "${WITH_BENCH:-0}" = 1 ] && packages+=(wrk sqlite3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm may come from outside Debian (as on these machines): accept any working pair.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# 2. wasm-bindgen-cli at exactly the version Cargo.lock names (else the page fails to start).
want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
have=$("$TOOLS_DIR/bin/wasm-bindgen" --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "setup: installing wasm-bindgen-cli $want (a few minutes)"
  cargo install wasm-bindgen-cli --version "$want" --root "$TOOLS_DIR" --force
fi

# 3. A Node.js that meets every `engines.node` of end2end/package-lock.json (Debian 12's is 18,
#    @axe-core/playwright wants >= 22.12). When the node found is older, the npm registry's
#    `node-linux-<arch>` package (the official binary; npm checks the tarball's integrity) at
#    the version pinned here goes into $TOOLS_DIR/node, which scripts/env.sh puts first on PATH.
node_pin=22.23.5
if ! node scripts/check-node.mjs --quiet 2>/dev/null; then
  case "$(uname -m)" in
    x86_64) node_arch=x64 ;;
    aarch64) node_arch=arm64 ;;
    *) echo "setup: no Node.js package for $(uname -m); install Node.js >= the lock file's needs" >&2; exit 1 ;;
  esac
  if [ "$("$TOOLS_DIR/node/bin/node" --version 2>/dev/null || true)" != "v$node_pin" ]; then
    echo "setup: installing Node.js $node_pin (npm package node-linux-$node_arch) into $TOOLS_DIR/node"
    mkdir -p "$TOOLS_DIR"
    node_tmp=$(mktemp -d "$TOOLS_DIR/.node.XXXXXX")
    (cd "$node_tmp" && npm pack --silent "node-linux-$node_arch@$node_pin" >/dev/null)
    mkdir "$node_tmp/node"
    tar xzf "$node_tmp/node-linux-$node_arch-$node_pin.tgz" -C "$node_tmp/node" --strip-components=1
    [ "$("$node_tmp/node/bin/node" --version)" = "v$node_pin" ] || { echo "setup: the Node.js package does not run" >&2; exit 1; }
    rm -rf "$TOOLS_DIR/node"
    mv "$node_tmp/node" "$TOOLS_DIR/node"
    rm -rf "$node_tmp"
  fi
  export PATH="$TOOLS_DIR/node/bin:$PATH"
  hash -r
  node scripts/check-node.mjs || { echo "setup: raise node_pin in scripts/setup.sh" >&2; exit 1; }
fi

# 4. npm packages for the end-to-end tests and wasm-opt (npm's binaryen; Debian's is too old).
lock_sum=$(sha256sum end2end/package-lock.json | cut -d' ' -f1)
if [ "$(cat end2end/node_modules/.lock-sum 2>/dev/null || true)" != "$lock_sum" ]; then
  echo "setup: npm ci in end2end/"
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" > end2end/node_modules/.lock-sum
fi

# 5. cargo-leptos, only for `make watch` (WITH_CARGO_LEPTOS=1), at the version whose keys
#    [[workspace.metadata.leptos]] in Cargo.toml is written for. Its own release profile (fat
#    LTO, one codegen unit) makes the install take some 25 minutes on two cores; a tool that
#    mostly waits for cargo does not need that, so the profile is lightened for the install.
#    no_downloads: it uses the wasm-bindgen (step 2) and wasm-opt (step 4) found on PATH, and
#    says so when one is missing instead of trying to download it.
leptos_pin=0.3.11
if [ "${WITH_CARGO_LEPTOS:-0}" = 1 ] &&
   [ "$("$TOOLS_DIR/bin/cargo-leptos" --version 2>/dev/null | awk '{print $2}' || true)" != "$leptos_pin" ]; then
  echo "setup: installing cargo-leptos $leptos_pin (once; 44 minutes on two cores, measured beside other builds)"
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install cargo-leptos --version "$leptos_pin" --locked --features no_downloads \
    --root "$TOOLS_DIR" --force
fi

# 6. The SCIM 2.0 server that the provisioning tests talk to (scripts/scim-server.sh):
#    scim2-server from PyPI and everything it needs, at the exact versions of
#    scripts/scim-requirements.txt, in a virtual environment of its own, target/scim-venv.
#    Made anew when that file changes (the venv keeps the sha256 of the one it was made from).
scim_venv=target/scim-venv
scim_sum=$(sha256sum scripts/scim-requirements.txt | cut -d' ' -f1)
if [ ! -x "$scim_venv/bin/python" ] ||
   [ "$(cat "$scim_venv/.requirements-sum" 2>/dev/null || true)" != "$scim_sum" ]; then
  echo "setup: installing scim2-server into $scim_venv"
  rm -rf "$scim_venv"
  mkdir -p target
  python3 -m venv "$scim_venv"
  "$scim_venv/bin/pip" install --quiet --disable-pip-version-check --no-input --no-deps \
    -r scripts/scim-requirements.txt
  "$scim_venv/bin/pip" check --disable-pip-version-check >/dev/null ||
    { "$scim_venv/bin/pip" check; echo "setup: scripts/scim-requirements.txt misses a dependency" >&2; exit 1; }
  echo "$scim_sum" > "$scim_venv/.requirements-sum"
fi
# 7. The native linker: LLD (Debian's lld-22, step 1, which also links the wasm32 bundles)
#    rather than GNU ld. The test binaries are ~110 MB each, unoptimised; GNU ld takes about
#    6 s for each, LLD about 1 s. gcc finds it as `ld.lld` (`-fuse-ld=lld`, scripts/env.sh)
#    and Debian names it ld.lld-22: a link in $TOOLS_DIR/bin gives it the name gcc looks for.
mkdir -p "$TOOLS_DIR/bin"
[ "$(readlink "$TOOLS_DIR/bin/ld.lld" 2>/dev/null || true)" = /usr/bin/ld.lld-22 ] ||
  ln -sfn /usr/bin/ld.lld-22 "$TOOLS_DIR/bin/ld.lld"
echo "setup: ok"

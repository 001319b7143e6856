# Two commands do everything on a fresh Debian machine: `make run` and `make test`.
# Recipes run under bash: scripts/env.sh is a bash file (`. scripts/env.sh` fails under sh).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.PHONY: setup build run test bench watch watch-check fmt clean

setup:
	@scripts/setup.sh

build: setup
	@scripts/build.sh

run: build
	@mkdir -p data
	SIGN_IN_MODE=$${SIGN_IN_MODE:-dev} LOG_FORMAT=$${LOG_FORMAT:-pretty} \
	  LEPTOS_SITE_ROOT=target/site target/release/techbiz-invite

test: setup
	@scripts/test.sh

bench:
	@WITH_BENCH=1 scripts/setup.sh
	@scripts/bench.sh

# cargo-leptos builds the front end with -Zbuild-std, which needs RUSTC_BOOTSTRAP=1; its
# bin-cargo-command (Cargo.toml) keeps it from the server build.
watch:
	@WITH_CARGO_LEPTOS=1 scripts/setup.sh
	@mkdir -p data
	. scripts/env.sh && RUSTC_BOOTSTRAP=1 SIGN_IN_MODE=$${SIGN_IN_MODE:-dev} \
	  LOG_FORMAT=$${LOG_FORMAT:-pretty} cargo leptos watch --split

# make watch on a fresh clone of HEAD: served, and an edit served (scripts/watch-check.sh).
watch-check:
	@scripts/watch-check.sh

fmt:
	. scripts/env.sh && cargo fmt --all

clean:
	rm -rf target end2end/node_modules end2end/test-results end2end/playwright-report

#!/usr/bin/env bash
# Checks `make watch` as a developer meets it: on a fresh clone of HEAD (in a temporary
# folder), it must serve the app at http://127.0.0.1:3000, and an edit to the Overview page
# must be served without restarting anything. Not part of `make test`: it installs
# cargo-leptos the first time and makes a debug build of its own. Prints the times.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
clone=$(mktemp -d)
log="$clone.watch.log"
git clone -q . "$clone"
cleanup() {
  pkill -f "cargo leptos watch" 2>/dev/null || true
  pkill -f "$clone/target/debug/techbiz-invite" 2>/dev/null || true
  rm -rf "$clone"
}
trap cleanup EXIT
cd "$clone"
begun=$SECONDS
(make watch >"$log" 2>&1 &)
for _ in $(seq 1 720); do
  curl -fsS -o /dev/null http://127.0.0.1:3000/healthz 2>/dev/null && break
  sleep 5
done
curl -fsS -o /dev/null http://127.0.0.1:3000/healthz || { tail -30 "$log"; echo "watch-check: nothing served at 127.0.0.1:3000" >&2; exit 1; }
echo "watch-check: served at http://127.0.0.1:3000 after $((SECONDS - begun)) s"
jar="$clone/cookies"
curl -s -c "$jar" -b "$jar" -o /dev/null -H 'sec-fetch-site: same-origin' \
  --data 'email=watch@agency.gov.sg' http://127.0.0.1:3000/api/sign_in
mark="Watched edit $(date +%s)"
sed -i "s|\"Invite users\"</a>|\"Invite users\"</a><p>\"$mark\"</p>|" app/src/pages/overview.rs
git diff --quiet && { echo "watch-check: the edit did not apply" >&2; exit 1; }
edited=$SECONDS
for _ in $(seq 1 240); do
  curl -s -b "$jar" http://127.0.0.1:3000/ | grep -q "$mark" && break
  sleep 5
done
curl -s -b "$jar" http://127.0.0.1:3000/ | grep -q "$mark" ||
  { tail -30 "$log"; echo "watch-check: the edit was not served" >&2; exit 1; }
echo "watch-check: the edit was served $((SECONDS - edited)) s later"
grep -a "Watch\|Serving" "$log" | sed 's/\x1b\[[0-9;]*m//g' | tail -3

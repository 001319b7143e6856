#!/usr/bin/env bash
# The server Playwright tests against: the release build on a fresh SQLite database in a
# temporary folder, development sign-in on. Started and stopped by Playwright's webServer.
set -euo pipefail
source "$(dirname "$0")/env.sh"
port="${1:-3100}"
smtp_url="${2:-}"
db_dir=$(mktemp -d)
trap 'rm -rf "$db_dir"' EXIT
cd "$ROOT"
SMTP_URL="$smtp_url" RELAY_INTERVAL_MS=200 LEPTOS_SITE_ADDR="127.0.0.1:$port" DATABASE_URL="sqlite://$db_dir/e2e.db" SIGN_IN_MODE=dev \
  SUPPORT_EMAIL=techbiz-support@tech.gov.sg LOG_FORMAT=pretty LEPTOS_SITE_ROOT="$ROOT/target/site" \
  "$ROOT/target/release/techbiz-invite" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$db_dir"' EXIT INT TERM
wait $pid

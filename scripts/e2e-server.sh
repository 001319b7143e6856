#!/usr/bin/env bash
# The server Playwright tests against: the server binary (SERVER_BIN, by default the release
# build; make test sets its own build) on a fresh SQLite database in a temporary folder.
#   e2e-server.sh PORT SMTP_URL              development sign-in
#   e2e-server.sh PORT SMTP_URL ISSUER_URL   sign-in through that OpenID provider, as the
#                                            client end2end/oidc/provider.mjs registers
# With SCIM_URL (and SCIM_TOKEN) set, accounts go to that SCIM server (DIRECTORY=scim).
# Started and stopped by Playwright's webServer.
set -euo pipefail
source "$(dirname "$0")/env.sh"
port="${1:-3100}"
smtp_url="${2:-}"
issuer="${3:-}"
db_dir=$(mktemp -d)
# The server's log (Playwright ignores its output), which make test shows the warnings and
# errors of when a browser test fails.
mkdir -p "$ROOT/target/e2e-logs"
log="$ROOT/target/e2e-logs/server-$port.log"
trap 'rm -rf "$db_dir"' EXIT
cd "$ROOT"
if [ -n "$issuer" ]; then
  export SIGN_IN_MODE=oidc OIDC_ISSUER_URL="$issuer" OIDC_CLIENT_ID=techbiz-e2e \
    OIDC_CLIENT_SECRET=e2e-client-secret OIDC_SCOPES="openid email profile groups agency" \
    OIDC_ADMIN_VALUE=techbiz-subscription-admin SMTP_ALLOW_PLAINTEXT=true \
    LINK_SECRET=e2e-link-secret-of-at-least-thirty-two-characters
else
  export SIGN_IN_MODE=dev
fi
if [ -n "${SCIM_URL:-}" ]; then
  export DIRECTORY=scim SCIM_BASE_URL="$SCIM_URL" SCIM_TOKEN="${SCIM_TOKEN:?SCIM_TOKEN with SCIM_URL}"
fi
# Playwright signs in some 30 times from 127.0.0.1, two workers at once (sign-in's limit is 10,
# then one every 6 s); the rate limits have tests of their own (server/tests/limits.rs).
SMTP_URL="$smtp_url" RATE_LIMIT_SIGN_IN=1000/100ms RELAY_INTERVAL_MS=200 LEPTOS_SITE_ADDR="127.0.0.1:$port" DATABASE_URL="sqlite://$db_dir/e2e.db" \
  SUPPORT_EMAIL=techbiz-support@tech.gov.sg LOG_FORMAT=pretty LEPTOS_SITE_ROOT="$ROOT/target/site" \
  "${SERVER_BIN:-$ROOT/target/release/techbiz-invite}" >"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$db_dir"' EXIT INT TERM
wait $pid

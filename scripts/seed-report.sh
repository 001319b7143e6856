#!/usr/bin/env bash
# Development: plays SEED, reporting one person's SEED licence state to a running app, signed
# the way SEED signs (see app/src/server/seed.rs).
# Usage: scripts/seed-report.sh <email> <pending|licensed|not_requested> [app URL]
# The secret is SEED_WEBHOOK_SECRET, else the development secret that `make run` accepts.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 <email> <pending|licensed|not_requested> [app URL, default http://127.0.0.1:3000]" >&2
  exit 2
fi
EMAIL="$1" STATUS="$2" BASE="${3:-http://127.0.0.1:3000}" \
SECRET="${SEED_WEBHOOK_SECRET:-dev-seed-secret}" node --input-type=module -e '
import crypto from "node:crypto";
const body = JSON.stringify({ reports: [{ email: process.env.EMAIL, status: process.env.STATUS }] });
const t = Math.floor(Date.now() / 1000);
const v1 = crypto.createHmac("sha256", process.env.SECRET).update(`${t}.${body}`).digest("hex");
const res = await fetch(`${process.env.BASE}/webhooks/seed`, {
  method: "POST",
  headers: { "content-type": "application/json", "x-seed-signature": `t=${t},v1=${v1}` },
  body,
});
console.log(`${res.status} ${await res.text()}`);
process.exit(res.ok ? 0 : 1);
'

#!/usr/bin/env bash
# Serves a SCIM 2.0 server for the tests on 127.0.0.1:PORT, in the foreground (a test spawns
# and kills it): scim2-server (PyPI, pinned in scripts/scim-requirements.txt, installed into
# target/scim-venv by scripts/setup.sh) through scripts/scim_server.py. Only requests with
# `Authorization: Bearer TOKEN` are served (GET /ServiceProviderConfig needs none); the
# endpoints answer at / and at /v2. Once it accepts connections it prints a line that starts
# with "scim-server: ready on http://127.0.0.1:PORT" (then the number of resources loaded);
# PORT 0 takes a free port, which that line names.
# Users live in memory; with STATE_FILE every write is appended to that file before the
# response, so a server killed (SIGKILL too) and started again on the same file keeps them.
# SCIM_DELAY_MS=N holds every response back N ms, after the request was served (a write is
# done even if the client gave up); SCIM_ACCESS_LOG=1 logs each request to stderr.
# usage: scripts/scim-server.sh PORT TOKEN [STATE_FILE]
set -euo pipefail
source "$(dirname "$0")/env.sh"

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: scripts/scim-server.sh PORT TOKEN [STATE_FILE]" >&2
  exit 2
fi
python="$ROOT/target/scim-venv/bin/python"
[ -x "$python" ] || { echo "scim-server: $python missing; run scripts/setup.sh" >&2; exit 1; }
exec "$python" "$ROOT/scripts/scim_server.py" "$@"

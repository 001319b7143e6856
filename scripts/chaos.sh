#!/usr/bin/env bash
# Three server instances on one PostgreSQL behind haproxy, on loopback, while twenty officers
# work and instances die under them:
#   chaos.sh short   make test's layer (~2 minutes on two cores): 20 officers × 1 batch of 500
#                    rows, a kill -9 of a random instance every ~5 s for 30 s, then one rolling
#                    SIGTERM deploy; no duplicate email allowed
#   chaos.sh long    make bench's (a few minutes): 20 officers × 4 batches, kills for 150 s,
#                    two rolling deploys; the duplicate emails are printed
#   chaos.sh scale   make bench's scale-out figures (scripts/chaos-scale.sh)
#
# What it starts, each killed on exit: a fresh database in the test PostgreSQL
# (scripts/postgres.sh, 127.0.0.1:$PG_PORT; dropped at the end), an SMTP server that records
# every delivery (end2end/chaos/sink.py), three instances of SERVER_BIN (default the test
# build, target/quick/techbiz-invite) with the relay and the provisioning worker on short
# intervals, Debian's haproxy in the foreground (-db) with a config written into a temporary
# folder (round robin, health check on CHAOS_CHECK_PATH, default /readyz, L7 retries), and
# the officers (end2end/chaos/driver.mjs). The killer is this script: every few seconds it
# kill -9s a random instance and starts it again on its port after a short pause, recording
# the window from the kill until haproxy has the new process up again; then it restarts the
# instances one at a time with SIGTERM (exit code 0 within the grace time, up again, next).
# When the driver is done and the outbox and provisioning queue have drained,
# end2end/chaos/check.mjs checks rows, email, availability and sessions and prints a summary.
# Logs and results: target/chaos/<mode>/.
#
# The server is expected to (see the report in scripts/chaos.sh's commit): answer
# CHAOS_CHECK_PATH 200 when ready and 503 from the moment it gets SIGTERM; keep serving for
# SHUTDOWN_DELAY_MS after SIGTERM, then stop accepting, finish what is in flight, and exit 0
# within SHUTDOWN_GRACE_SECS.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

mode=${1:-}
case "$mode" in
  short | long) ;;
  scale) exec scripts/chaos-scale.sh ;;
  *) echo "usage: scripts/chaos.sh short|long|scale" >&2; exit 2 ;;
esac

server_bin=${SERVER_BIN:-$ROOT/target/quick/techbiz-invite}
check_path=${CHAOS_CHECK_PATH:-/readyz}
[ -x "$server_bin" ] || { echo "chaos: no server binary at $server_bin (set SERVER_BIN)" >&2; exit 1; }
command -v haproxy >/dev/null || { echo "chaos: haproxy is missing; run scripts/setup.sh" >&2; exit 1; }

# The run's shape.
if [ "$mode" = short ]; then
  officers=20 batches=1 resends=5 revokes=5
  kill_seconds=30 kill_every=5 deploys=1 max_duplicates=${CHAOS_MAX_DUPLICATES:-}
else
  officers=20 batches=4 resends=20 revokes=20
  kill_seconds=150 kill_every=4 deploys=2 max_duplicates=${CHAOS_MAX_DUPLICATES:-}
fi
# haproxy's health checks: every 250 ms, two failures mark an instance down, two successes
# up. An instance told to stop keeps serving for SHUTDOWN_DELAY_MS while its check fails, so
# haproxy has stopped sending to it before its listener closes: twice the time haproxy needs.
check_inter_ms=250 check_fall=2 check_rise=2
shutdown_delay_ms=$((2 * check_inter_ms * check_fall))
shutdown_grace_secs=20

out="$ROOT/target/chaos/$mode"
rm -rf "$out"
mkdir -p "$out"
run_dir=$(mktemp -d)
db="techbiz_chaos_${mode}_$$_$RANDOM"
started=$SECONDS
now_ms() { date +%s%3N; }
say() { printf '[chaos %4ds] %s\n' "$((SECONDS - started))" "$*"; }

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres PGDATABASE=$db
export PGOPTIONS="-c client_min_messages=warning"

# Everything this run starts, stopped by cleanup.
declare -a inst_pid inst_port
sink_pid="" haproxy_pid="" driver_pid="" pg_started="" db_made=""
cleanup() {
  local status=$? pid
  for pid in "${inst_pid[@]}" "$driver_pid" "$haproxy_pid" "$sink_pid"; do
    if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  wait 2>/dev/null || true
  [ -z "$db_made" ] || "$pg_bin/dropdb" --force --if-exists -d postgres "$db" 2>/dev/null || true
  [ -z "$pg_started" ] || scripts/postgres.sh stop
  rm -rf "$run_dir"
  if [ "$status" -ne 0 ]; then
    echo "chaos $mode: FAILED after $((SECONDS - started)) s (logs in $out)" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# N free loopback ports, held open together while chosen so that they differ.
free_ports() {
  node -e '
    const net = require("net");
    const n = Number(process.argv[1]);
    const servers = [];
    const next = () => {
      if (servers.length === n) {
        console.log(servers.map((s) => s.address().port).join(" "));
        return servers.forEach((s) => s.close());
      }
      const s = net.createServer().listen(0, "127.0.0.1", next);
      servers.push(s);
    };
    next();' "$1"
}

pg_started=$(scripts/postgres.sh)
[ -z "$pg_started" ] || say "$pg_started"
"$pg_bin/createdb" "$db"
db_made=1
say "database $db in 127.0.0.1:$PG_PORT"

read -r sink_port ha_port stats_port p1 p2 p3 <<<"$(free_ports 6)"
inst_port=("$p1" "$p2" "$p3")

python3 end2end/chaos/sink.py "$sink_port" "$out/sink.jsonl" >"$out/sink.log" 2>&1 &
sink_pid=$!

# Instance I (0, 1, 2) on its port, its output appended to instance-I.log.
start_instance() {
  local i=$1
  DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$db" \
    LEPTOS_SITE_ADDR="127.0.0.1:${inst_port[$i]}" PUBLIC_URL="http://127.0.0.1:$ha_port" \
    LEPTOS_SITE_ROOT="$ROOT/target/site" LOG_FORMAT=json SIGN_IN_MODE=dev \
    SMTP_URL="smtp://127.0.0.1:$sink_port" SMTP_TIMEOUT_MS=3000 RELAY_LEASE_MS=5000 \
    RELAY_INTERVAL_MS=200 RELAY_RETRY_BASE_MS=1000 REMINDER_DAYS=none \
    PROVISIONING_INTERVAL_MS=200 PROVISIONING_RETRY_BASE_MS=1000 \
    RATE_LIMIT_PROXIES=1 RATE_LIMIT_SIGN_IN=200/100ms INVITE_QUOTA_PER_HOUR=1000000 \
    SHUTDOWN_DELAY_MS="$shutdown_delay_ms" SHUTDOWN_GRACE_SECS="$shutdown_grace_secs" \
    "$server_bin" >>"$out/instance-$i.log" 2>&1 &
  inst_pid[i]=$!
}

# Waits until instance I answers its check with 200 (at most 60 s).
wait_ready() {
  local i=$1
  for _ in $(seq 600); do
    curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:${inst_port[$i]}$check_path" && return 0
    kill -0 "${inst_pid[$i]}" 2>/dev/null || { echo "chaos: instance $i exited while starting (see $out/instance-$i.log)" >&2; return 1; }
    sleep 0.1
  done
  echo "chaos: instance $i was not ready within 60 s (see $out/instance-$i.log)" >&2
  return 1
}

# haproxy's view of instance I: UP, DOWN, "UP 1/2", ...
haproxy_status() {
  curl -fs --max-time 1 "http://127.0.0.1:$stats_port/stats;csv" |
    awk -F, -v s="s$1" '$1 == "servers" && $2 == s { print $18 }'
}

# Waits until haproxy sends to instance I again (at most 30 s).
wait_balanced() {
  local i=$1
  for _ in $(seq 300); do
    [ "$(haproxy_status "$i")" = UP ] && return 0
    sleep 0.1
  done
  echo "chaos: haproxy did not mark instance $i up within 30 s" >&2
  return 1
}

for i in 0 1 2; do start_instance "$i"; done
for i in 0 1 2; do wait_ready "$i"; done
say "instances on ports ${inst_port[*]} ($server_bin), ready on $check_path"

cat >"$run_dir/haproxy.cfg" <<EOF
global
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-keep-alive 120s
    timeout check 1s
    option forwardfor
    # A request that found a dead instance (refused, or closed without an answer) goes to
    # another; haproxy can resend only what it still holds in its buffer (16 KB), so a
    # 500-row chunk that was cut off is the client's to send again.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend site
    bind 127.0.0.1:$ha_port
    default_backend servers

frontend stats
    bind 127.0.0.1:$stats_port
    stats enable
    stats uri /stats

backend servers
    balance roundrobin
    option httpchk GET $check_path
    http-check expect status 200
    default-server check inter ${check_inter_ms}ms fastinter ${check_inter_ms}ms downinter ${check_inter_ms}ms fall $check_fall rise $check_rise
    server s0 127.0.0.1:$p1
    server s1 127.0.0.1:$p2
    server s2 127.0.0.1:$p3
EOF
cp "$run_dir/haproxy.cfg" "$out/haproxy.cfg"
haproxy -c -q -f "$run_dir/haproxy.cfg"
haproxy -db -f "$run_dir/haproxy.cfg" >"$out/haproxy.log" 2>&1 &
haproxy_pid=$!
for i in 0 1 2; do wait_balanced "$i"; done
say "haproxy on 127.0.0.1:$ha_port, SMTP sink on 127.0.0.1:$sink_port"

windows="$out/windows.jsonl"
: >"$windows"
stop_file="$run_dir/stop"
submitted_file="$run_dir/submitted"
(cd end2end && node chaos/driver.mjs --url "http://127.0.0.1:$ha_port" --out "$out/results.json" \
  --officers "$officers" --batches "$batches" --resends "$resends" --revokes "$revokes" \
  --stop-file "$stop_file" --submitted-file "$submitted_file" --max-seconds 900) >"$out/driver.log" 2>&1 &
driver_pid=$!
say "driver: $officers officers × $batches batches of 500 rows"

# kill -9 a random instance every ~kill_every seconds for kill_seconds.
kills=0
kill_until=$((SECONDS + kill_seconds))
sleep 2
while [ "$SECONDS" -lt "$kill_until" ]; do
  i=$((RANDOM % 3))
  from=$(now_ms)
  kill -9 "${inst_pid[$i]}"
  wait "${inst_pid[$i]}" 2>/dev/null || true
  sleep "0.$((5 + RANDOM % 5))"
  start_instance "$i"
  wait_ready "$i"
  wait_balanced "$i"
  # Slack for a check that haproxy was already making when the instance came back.
  to=$(($(now_ms) + 2 * check_inter_ms))
  echo "{\"kind\":\"kill\",\"instance\":$i,\"from\":$from,\"to\":$to}" >>"$windows"
  kills=$((kills + 1))
  say "kill -9 instance $i: back in $(((to - from) / 1000)).$(((to - from) % 1000 / 100)) s"
  kill -0 "$driver_pid" 2>/dev/null || break
  sleep "$((kill_every - 1)).$((RANDOM % 10))"
done

# Rolling deploy(s): SIGTERM one instance at a time, up again before the next. After the
# uploads (at most 10 minutes): on two cores a 500-row chunk of the unoptimised test build
# takes up to a minute under this load, longer than SHUTDOWN_GRACE_SECS would let it finish.
say "waiting for the officers to finish their uploads"
for _ in $(seq 600); do
  [ -f "$submitted_file" ] && break
  kill -0 "$driver_pid" 2>/dev/null || break
  sleep 1
done
for d in $(seq "$deploys"); do
  sleep 2
  deploy_from=$(now_ms)
  for i in 0 1 2; do
    from=$(now_ms)
    kill -TERM "${inst_pid[$i]}"
    code=0
    wait "${inst_pid[$i]}" || code=$?
    exit_ms=$(($(now_ms) - from))
    start_instance "$i"
    wait_ready "$i"
    wait_balanced "$i"
    echo "{\"kind\":\"term\",\"instance\":$i,\"from\":$from,\"to\":$(now_ms),\"exit_code\":$code,\"exit_ms\":$exit_ms,\"limit_ms\":$((shutdown_grace_secs * 1000 + 1000))}" >>"$windows"
    say "deploy $d: SIGTERM instance $i: exit $code after $exit_ms ms, back up"
  done
  echo "{\"kind\":\"deploy\",\"from\":$deploy_from,\"to\":$(now_ms)}" >>"$windows"
done
sleep 2
touch "$stop_file"

driver_ok=0
wait "$driver_pid" || driver_ok=$?
driver_pid=""
cat "$out/driver.log"

# The queues drain: every email sent or called off, every account made.
say "waiting for the outbox and the provisioning queue to drain"
left=""
for _ in $(seq 180); do
  left=$("$pg_bin/psql" -X -At -c "SELECT (SELECT count(*) FROM outbox WHERE status IN ('held', 'pending')) + (SELECT count(*) FROM provisioning WHERE status = 'pending')")
  [ "$left" = 0 ] && break
  sleep 1
done
say "drained ($left left)"

elapsed=$((SECONDS - started))
check_ok=0
(cd end2end && node chaos/check.mjs --results "$out/results.json" --windows "$windows" \
  --sink "$out/sink.jsonl" --instances "$(IFS=,; echo "${inst_port[*]}")" \
  ${max_duplicates:+--max-duplicates "$max_duplicates"} --elapsed-seconds "$elapsed") |
  tee "$out/summary.txt" || check_ok=$?
[ "$driver_ok" -eq 0 ] || { echo "chaos: the driver stopped with an error (see $out/driver.log)" >&2; exit 1; }
[ "$check_ok" -eq 0 ] || exit 1
say "chaos $mode passed"

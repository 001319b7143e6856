#!/usr/bin/env bash
# Three server instances on one PostgreSQL behind haproxy, on loopback:
#   chaos.sh short   make test's chaos layer (about 2 minutes on two cores): 20 officers × 1
#                    batch of 500 rows; a kill -9 of a random instance every ~5 s for 30 s
#                    while they upload, then one rolling SIGTERM deploy
#   chaos.sh long    make bench's (a few minutes): 20 officers × 4 batches, kills for 150 s,
#                    two rolling deploys
#   chaos.sh scale   make bench's scale-out figures: list_invitations and submit_batch with 1
#                    and with 3 instances behind haproxy (release build), and a rolling restart
#                    of three instances under a light load
#
# What it starts, each killed on exit: a fresh database in the test PostgreSQL
# (scripts/postgres.sh, 127.0.0.1:$PG_PORT; dropped at the end), an SMTP server that records
# every delivery (end2end/chaos/sink.py), the instances (SERVER_BIN; default the test build
# target/quick/techbiz-invite, for scale the release build) with the relay and the
# provisioning worker on short intervals, and Debian's haproxy in the foreground (-db) with a
# config written into a temporary folder (round robin, health check on /readyz,
# L7 retries on a refused or empty answer).
#
# short and long: twenty officers (end2end/chaos/driver.mjs) sign in once each, upload, resend,
# revoke and look at their status list. This script is the killer: every few seconds it kill
# -9s a random instance and starts it again on its port after a short pause, recording the
# window from the kill until haproxy has the new process up again; right after the kills,
# while the officers are still at work, it restarts the instances one at a time with SIGTERM
# (exit code 0 within the grace time, up again, next). When the queues have drained, end2end/chaos/check.mjs checks rows, email,
# availability and sessions and prints a summary (exit 1 if any check fails).
# Logs, results and the summary: target/chaos/<mode>/.
#
# What the server is expected to do: answer /readyz 200 when ready, and 503 from the
# moment it gets SIGTERM; keep serving for SHUTDOWN_DELAY_MS after SIGTERM (here twice the
# time haproxy needs to see the check fail), then stop accepting, finish what is in flight
# and exit 0 within SHUTDOWN_GRACE_SECS.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/bench/measure.sh"
cd "$ROOT"

mode=${1:-}
case "$mode" in
  short | long) default_bin=$ROOT/target/quick/techbiz-invite ;;
  scale) default_bin=$ROOT/target/release/techbiz-invite ;;
  *) echo "usage: scripts/chaos.sh short|long|scale" >&2; exit 2 ;;
esac
server_bin=${SERVER_BIN:-$default_bin}
check_path=/readyz
[ -x "$server_bin" ] || { echo "chaos: no server binary at $server_bin (set SERVER_BIN)" >&2; exit 1; }
command -v haproxy >/dev/null || { echo "chaos: haproxy is missing; run scripts/setup.sh" >&2; exit 1; }

# haproxy's health checks: every 250 ms, two failures mark an instance down, two successes
# up. An instance told to stop keeps serving for SHUTDOWN_DELAY_MS while its check fails, so
# haproxy has stopped sending to it before its listener closes: twice the time haproxy needs.
check_inter_ms=250 check_fall=2 check_rise=2
shutdown_delay_ms=$((2 * check_inter_ms * check_fall))
# The grace: long enough for the slowest 500-row chunk of the test build under twenty
# concurrent uploads on two cores (up to about 20 s), which a rolling deploy must let finish.
shutdown_grace_secs=60

out="$ROOT/target/chaos/$mode"
rm -rf "$out"
mkdir -p "$out"
run_dir=$(mktemp -d)
started=$SECONDS
now_ms() { date +%s%3N; }
say() { printf '[chaos %4ds] %s\n' "$((SECONDS - started))" "$*"; }

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres
export PGOPTIONS="-c client_min_messages=warning"

# Everything a run starts, stopped by cleanup.
declare -a inst_pid=() inst_port=() dbs=()
sink_pid="" haproxy_pid="" driver_pid="" load_pid="" pg_started=""
cleanup() {
  local status=$? pid d
  # Quietly: bash reports each killed job on its own stderr.
  {
    for pid in "${inst_pid[@]}" "$driver_pid" "$load_pid" "$haproxy_pid" "$sink_pid"; do
      if [ -n "$pid" ]; then kill -9 "$pid" || true; fi
    done
    wait || true
  } 2>/dev/null
  for d in "${dbs[@]}"; do "$pg_bin/dropdb" --force --if-exists --maintenance-db=postgres "$d" 2>/dev/null || true; done
  [ -z "$pg_started" ] || scripts/postgres.sh stop
  rm -rf "$run_dir"
  if [ "$status" -ne 0 ]; then
    echo "chaos $mode: FAILED after $((SECONDS - started)) s (logs in $out)" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg_started=$(scripts/postgres.sh)
[ -z "$pg_started" ] || say "$pg_started"

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

# A fresh database, the one the next cluster uses (PGDATABASE); dropped on exit.
new_database() {
  db="techbiz_chaos_${mode}_$$_${1}_$RANDOM"
  "$pg_bin/createdb" --maintenance-db=postgres "$db"
  dbs+=("$db")
  export PGDATABASE=$db
}

# Instance I of the cluster on its port, its output appended to instance-I.log.
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
    "$server_bin" >>"$cluster_out/instance-$i.log" 2>&1 &
  inst_pid[i]=$!
}

# Waits until instance I answers its check with 200 (at most 60 s).
wait_ready() {
  local i=$1
  for _ in $(seq 600); do
    curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:${inst_port[$i]}$check_path" && return 0
    kill -0 "${inst_pid[$i]}" 2>/dev/null ||
      { echo "chaos: instance $i exited while starting (see $cluster_out/instance-$i.log)" >&2; return 1; }
    sleep 0.1
  done
  echo "chaos: instance $i was not ready within 60 s (see $cluster_out/instance-$i.log)" >&2
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

# N instances on the current database, an SMTP sink and haproxy in front; logs into DIR.
start_cluster() {
  local n=$1 i ports
  cluster_out=$2
  mkdir -p "$cluster_out"
  read -r -a ports <<<"$(free_ports $((n + 3)))"
  sink_port=${ports[0]} ha_port=${ports[1]} stats_port=${ports[2]}
  inst_port=("${ports[@]:3}")
  inst_pid=()
  python3 end2end/chaos/sink.py "$sink_port" "$cluster_out/sink.jsonl" >"$cluster_out/sink.log" 2>&1 &
  sink_pid=$!
  for ((i = 0; i < n; i++)); do start_instance "$i"; done
  for ((i = 0; i < n; i++)); do wait_ready "$i"; done
  {
    cat <<EOF
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
EOF
    for ((i = 0; i < n; i++)); do echo "    server s$i 127.0.0.1:${inst_port[$i]}"; done
  } >"$run_dir/haproxy.cfg"
  cp "$run_dir/haproxy.cfg" "$cluster_out/haproxy.cfg"
  haproxy -c -q -f "$run_dir/haproxy.cfg"
  haproxy -db -f "$run_dir/haproxy.cfg" >"$cluster_out/haproxy.log" 2>&1 &
  haproxy_pid=$!
  for ((i = 0; i < n; i++)); do wait_balanced "$i"; done
  say "$n instance(s) of $server_bin on ports ${inst_port[*]} (ready on $check_path), haproxy on 127.0.0.1:$ha_port, SMTP sink on 127.0.0.1:$sink_port"
}

stop_cluster() {
  local pid
  {
    for pid in "${inst_pid[@]}" "$haproxy_pid" "$sink_pid"; do kill -9 "$pid" || true; done
    for pid in "${inst_pid[@]}" "$haproxy_pid" "$sink_pid"; do wait "$pid" || true; done
  } 2>/dev/null
  inst_pid=() haproxy_pid="" sink_pid=""
}

# SIGTERM each instance in turn: it must exit 0 within the grace time; started again, ready
# and back in haproxy before the next. One JSON line per instance into FILE, then the whole.
rolling_restart() {
  local file=$1 label=$2 i from code exit_ms deploy_from
  deploy_from=$(now_ms)
  for i in "${!inst_pid[@]}"; do
    from=$(now_ms)
    kill -TERM "${inst_pid[$i]}"
    code=0
    wait "${inst_pid[$i]}" || code=$?
    exit_ms=$(($(now_ms) - from))
    start_instance "$i"
    wait_ready "$i"
    wait_balanced "$i"
    echo "{\"kind\":\"term\",\"instance\":$i,\"from\":$from,\"to\":$(now_ms),\"exit_code\":$code,\"exit_ms\":$exit_ms,\"limit_ms\":$((shutdown_grace_secs * 1000 + 1000))}" >>"$file"
    say "$label: SIGTERM instance $i: exit $code after $exit_ms ms, back up"
  done
  echo "{\"kind\":\"deploy\",\"from\":$deploy_from,\"to\":$(now_ms)}" >>"$file"
}

# Waits (at most SECONDS_MAX) until every email is sent or called off and every account made.
wait_drained() {
  local left=""
  for _ in $(seq "$1"); do
    left=$("$pg_bin/psql" -X -At -c "SELECT (SELECT count(*) FROM outbox WHERE status = 'pending') + (SELECT count(*) FROM provisioning WHERE status = 'pending')")
    [ "$left" = 0 ] && break
    sleep 1
  done
  say "queues drained ($left left)"
}

chaos_main() {
  local officers batches resends revokes kill_seconds kill_every deploys max_duplicates
  if [ "$mode" = short ]; then
    officers=20 batches=1 resends=5 revokes=5 kill_seconds=30 kill_every=5 deploys=1
  else
    officers=20 batches=4 resends=20 revokes=20 kill_seconds=150 kill_every=4 deploys=2
  fi
  # Duplicates are checked against the kills that explain them; a bound on top, if set.
  max_duplicates=${CHAOS_MAX_DUPLICATES:-}
  new_database run
  say "database $db in 127.0.0.1:$PG_PORT"
  start_cluster 3 "$out"

  local windows="$out/windows.jsonl" stop_file="$run_dir/stop" submitted_file="$run_dir/submitted"
  : >"$windows"
  (cd end2end && node chaos/driver.mjs --url "http://127.0.0.1:$ha_port" --out "$out/results.json" \
    --officers "$officers" --batches "$batches" --resends "$resends" --revokes "$revokes" \
    --stop-file "$stop_file" --submitted-file "$submitted_file" --max-seconds 900) >"$out/driver.log" 2>&1 &
  driver_pid=$!
  say "driver: $officers officers × $batches batches of 500 rows"

  # kill -9 a random instance every ~kill_every seconds for kill_seconds.
  local kill_until=$((SECONDS + kill_seconds)) i from to d
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
    say "kill -9 instance $i: back in $(((to - from) / 1000)).$(((to - from) % 1000 / 100)) s"
    kill -0 "$driver_pid" 2>/dev/null || break
    sleep "$((kill_every - 1)).$((RANDOM % 10))"
  done

  # The rolling deploys follow the kills at once, while the officers are still uploading: a
  # SIGTERMed instance finishes the 500-row chunks it is working on (on two cores a chunk of the
  # unoptimised test build takes up to about 20 s under this load, hence the longer grace
  # here) and no officer may lose an answer meanwhile.
  for d in $(seq "$deploys"); do
    sleep 2
    rolling_restart "$windows" "deploy $d"
  done
  sleep 2
  touch "$stop_file"

  local driver_ok=0 check_ok=0
  wait "$driver_pid" || driver_ok=$?
  driver_pid=""
  cat "$out/driver.log"
  say "waiting for the outbox and the provisioning queue to drain"
  wait_drained 300

  (cd end2end && node chaos/check.mjs --results "$out/results.json" --windows "$windows" \
    --sink "$out/sink.jsonl" --instances "$(IFS=,; echo "${inst_port[*]}")" \
    ${max_duplicates:+--max-duplicates "$max_duplicates"} --elapsed-seconds "$((SECONDS - started))") |
    tee "$out/summary.txt" || check_ok=$?
  [ "$driver_ok" -eq 0 ] || { echo "chaos: the driver stopped with an error (see $out/driver.log)" >&2; return 1; }
  [ "$check_ok" -eq 0 ] || return 1
  say "chaos $mode passed"
}

# ---------------------------------------------------------------------------------------------
# scale: the same cluster with 1 and with 3 instances (haproxy in front of both, so the count
# is the only difference), each on a fresh database:
#   submit_batch  SCALE_OFFICERS officers submitting SCALE_CHUNKS chunks of 500 fresh rows
#                 between them (end2end/chaos/load.mjs): rows/s over the wall time, p50/p99
#                 per chunk; the queues drain before the next measurement;
#   list          wrk with scripts/bench/status.lua as scripts/bench.sh's status section, but
#                 closed loop (SCALE_CONNECTIONS connections, each sending as soon as it has
#                 its answer) for SCALE_SECONDS after a 3 s warm-up, on the invitations the
#                 submits made: the most requests/s the cluster answers, with p50/p99;
# and a rolling restart of the three under a light load (load.mjs light: list, status_version
# and a 20-row submit now and then from 4 officers, no retries): its time and failed requests.
SCALE_OFFICERS=${SCALE_OFFICERS:-8}
SCALE_CHUNKS=${SCALE_CHUNKS:-40}
SCALE_CONNECTIONS=${SCALE_CONNECTIONS:-16}
SCALE_SECONDS=${SCALE_SECONDS:-15}

scale_run() {
  local n=$1 dir="$out/$1-instances" cookie result idle
  idle=$(cpu_idle)
  new_database "$n"
  start_cluster "$n" "$dir"
  local url="http://127.0.0.1:$ha_port"
  say "$n instance(s): submit_batch, $SCALE_CHUNKS chunks of 500 rows from $SCALE_OFFICERS officers"
  (cd end2end && node chaos/load.mjs submit --url "$url" --officers "$SCALE_OFFICERS" \
    --chunks "$SCALE_CHUNKS" --agency scale.gov.sg --out "$dir/submit.json")
  wait_drained 600
  "$pg_bin/psql" -X -q -c "VACUUM ANALYZE"
  cookie=$(cd end2end && node chaos/load.mjs signin --url "$url" --email lister@scale.gov.sg)
  say "$n instance(s): list_invitations, wrk closed loop, $SCALE_CONNECTIONS connections, ${SCALE_SECONDS} s"
  local wrk_args=(-t 2 -c "$SCALE_CONNECTIONS" --timeout 30s -s scripts/bench/status.lua
    "$url/api/list_invitations" -- 1000000 2)
  BENCH_COOKIE="$cookie" wrk -d 3s "${wrk_args[@]}" >/dev/null
  BENCH_COOKIE="$cookie" wrk -d "${SCALE_SECONDS}s" "${wrk_args[@]}" | tee "$dir/list.log"
  result=$(grep '^wrk-result ' "$dir/list.log" || true)
  [ -n "$result" ] || { echo "chaos: no wrk figures (see $dir/list.log)" >&2; return 1; }
  node -e '
    const fs = require("fs");
    const [file, line, idle] = process.argv.slice(1);
    const field = (k) => Number((line.match(new RegExp(k + "=([0-9.]+)")) || [])[1]);
    const submit = JSON.parse(fs.readFileSync(file, "utf8"));
    console.log(JSON.stringify({ idle: Number(idle), submit, list: { rps: field("rps"), p50_ms: field("p50_ms"), p99_ms: field("p99_ms"),
      requests: field("requests"), errors: field("non2xx") + field("socket_errors") } }));' \
    "$dir/submit.json" "$result" "$idle" >"$dir/figures.json"
  if [ "$n" -eq 3 ]; then
    local stop_file="$run_dir/light-stop" t0 t1
    (cd end2end && node chaos/load.mjs light --url "$url" --officers 4 --agency scale.gov.sg \
      --stop-file "$stop_file" --out "$dir/light.json") &
    load_pid=$!
    sleep 3
    t0=$(now_ms)
    rolling_restart "$dir/restart.jsonl" "rolling restart"
    t1=$(now_ms)
    sleep 2
    touch "$stop_file"
    wait "$load_pid"
    load_pid=""
    node -e '
      const fs = require("fs");
      const [file, ms, out] = process.argv.slice(1);
      const light = JSON.parse(fs.readFileSync(file, "utf8"));
      fs.writeFileSync(out, JSON.stringify({ seconds: Number(ms) / 1000, requests: light.requests, failed: light.failed }));' \
      "$dir/light.json" "$((t1 - t0))" "$dir/restart.json"
  fi
  stop_cluster
}

scale_main() {
  command -v wrk >/dev/null || { echo "chaos: wrk is missing; run WITH_BENCH=1 scripts/setup.sh (make bench does)" >&2; return 1; }
  scale_run 1
  scale_run 3
  node - "$out" "$(nproc)" "$server_bin" <<'JS' | tee "$out/summary.txt"
const fs = require('fs');
const [dir, cpus, bin] = process.argv.slice(2);
const one = JSON.parse(fs.readFileSync(`${dir}/1-instances/figures.json`, 'utf8'));
const three = JSON.parse(fs.readFileSync(`${dir}/3-instances/figures.json`, 'utf8'));
const restart = JSON.parse(fs.readFileSync(`${dir}/3-instances/restart.json`, 'utf8'));
const f0 = (x) => x.toFixed(0);
const f1 = (x) => x.toFixed(1);
const row = (what, a, b, ratio) => console.log(`${what.padEnd(44)}${a.padStart(16)}${b.padStart(16)}${ratio.padStart(8)}`);
console.log(`scale-out on PostgreSQL behind haproxy (${bin.split('/').slice(-2).join('/')}, ${cpus} CPUs, one machine; CPU ${one.idle}% / ${three.idle}% idle before)`);
row('', '1 instance', '3 instances', '3/1');
row('list_invitations requests/s (closed loop)', f0(one.list.rps), f0(three.list.rps), (three.list.rps / one.list.rps).toFixed(2));
row('list_invitations p50 / p99 ms', `${f1(one.list.p50_ms)} / ${f1(one.list.p99_ms)}`, `${f1(three.list.p50_ms)} / ${f1(three.list.p99_ms)}`, (three.list.p99_ms / one.list.p99_ms).toFixed(2));
row('submit_batch rows/s (500-row chunks)', f0(one.submit.rows_per_s), f0(three.submit.rows_per_s), (three.submit.rows_per_s / one.submit.rows_per_s).toFixed(2));
row('submit_batch p50 / p99 ms per chunk', `${one.submit.p50_ms} / ${one.submit.p99_ms}`, `${three.submit.p50_ms} / ${three.submit.p99_ms}`, (three.submit.p99_ms / one.submit.p99_ms).toFixed(2));
console.log(`rolling restart of 3 instances (SIGTERM, up again, next) under a light load: ${f1(restart.seconds)} s, ${restart.failed} of ${restart.requests} requests failed`);
const errors = one.list.errors + three.list.errors + one.submit.failed + three.submit.failed;
if (errors > 0) console.log(`errors during the measurements: ${errors} (see ${dir})`);
process.exitCode = errors > 0 || restart.failed > 0 ? 1 : 0;
JS
}

if [ "$mode" = scale ]; then scale_main; else chaos_main; fi

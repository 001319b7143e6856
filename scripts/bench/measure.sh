# Helpers shared by the benchmarks that drive a server with wrk (scripts/bench.sh's status
# section and scripts/chaos.sh scale). Sourced, not run.

# The share of CPU time that was idle over the next 2 seconds, in percent: whether other work
# shared the CPUs while a figure was taken.
cpu_idle() {
  local a b
  a=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  sleep 2
  b=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  echo "$a $b" | awk '{ printf "%.0f", 100 * ($3 - $1) / ($4 - $2) }'
}

# The value of `name=` in wrk's result line (scripts/bench/status.lua prints it).
wrk_field() { echo "$2" | grep -o "$1=[0-9.]*" | cut -d= -f2 || true; }

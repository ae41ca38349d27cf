#!/usr/bin/env bash
# Benchmark: /v1/verify with durable audit (group commit) against the same server's /healthz,
# on loopback with wrk, in one run on one machine. Prints throughput, p99 and the ratio.
#   scripts/bench-verify.sh [DURATION_SECONDS] [CONNECTIONS]
# On PostgreSQL: BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test scripts/bench-verify.sh
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-64}
port=${BENCH_PORT:-18080}
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
provision_bench_user
start_server
token=$(sign_in)
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $token" "$base/v1/verify")" = 200 ] \
  || { echo "verify does not answer 200"; cat "$work/server.log"; exit 1; }

# Alternating rounds (healthz, verify, healthz, verify, …) so drift on a shared machine hits
# both alike; the medians are compared.
rounds=${BENCH_ROUNDS:-3}
run() { # name round extra-wrk-args...
  local name=$1 round=$2; shift 2
  wrk -t2 -c"$connections" -d"${duration}s" --latency "$@" > "$work/$name-$round.txt"
  local rps p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$name-$round.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$name-$round.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/$name-$round.txt")
  echo "  round $round $name: ${rps} req/s, p99 ${p99}, non-2xx ${non2xx:-0}"
  echo "$rps" >> "$work/$name.rps"
  echo "$p99" >> "$work/$name.p99"
}
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "wrk -t2 -c$connections, $rounds alternating rounds of ${duration}s, $(nproc) cores," \
  "audit durability: ${NOD_AUDIT__DURABILITY:-commit}, database: ${NOD_DATABASE__URL%%:*}"
wrk -t2 -c"$connections" -d2s -H "Authorization: Bearer $token" "$base/v1/verify" > /dev/null # warm-up
for round in $(seq 1 "$rounds"); do
  run healthz "$round" "$base/healthz"
  run verify "$round" -H "Authorization: Bearer $token" -H "X-Forwarded-Uri: /bench" "$base/v1/verify"
done
healthz_rps=$(median "$work/healthz.rps")
verify_rps=$(median "$work/verify.rps")
# Each round's verify against the healthz measured just before it (paired, so a slow spell on
# the machine hits both sides); the median of those is the figure.
paste "$work/verify.rps" "$work/healthz.rps" | awk '{ printf "%.3f\n", $1 / $2 }' > "$work/ratio"
ratio=$(median "$work/ratio")
events=$(count_uses)
echo "median healthz: $healthz_rps req/s (p99 $(median "$work/healthz.p99" 2>/dev/null || true))"
echo "median verify:  $verify_rps req/s"
echo "verify/healthz throughput ratio per round: $(tr '\n' ' ' < "$work/ratio")"
echo "verify/healthz throughput ratio (median of rounds): $ratio"
echo "token_used events committed: $events"

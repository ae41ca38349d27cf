#!/usr/bin/env bash
# Benchmark: /v1/verify with durable audit (group commit) against the same server's /healthz,
# on loopback with wrk, in one run on one machine. Prints throughput, p99 and the ratio.
#   scripts/bench-verify.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-64}
port=${BENCH_PORT:-18080}
command -v wrk > /dev/null || apt-get install -y wrk > /dev/null
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/nod"
export NOD_SERVER__DATA_DIR="$work/data" NOD_DATABASE__URL="sqlite://$work/data/nod.db"
export NOD_SERVER__BIND="127.0.0.1:$port" NOD_SERVER__PUBLIC_URL="http://127.0.0.1:$port"
export NOD_LOG__LEVEL=warn
base="http://127.0.0.1:$port"

echo 'correct horse battery staple' | "$bin" user add bench --password-stdin > /dev/null
secret=$("$bin" device add bench --name bench --notify mock --json | jq -r .device_secret)
"$bin" serve > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/healthz" > /dev/null && break; sleep 0.1; done

login=$(curl -s -X POST "$base/v1/login" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"correct horse battery staple","client_name":"bench"}')
approval=$(curl -s "$base/v1/device/approvals" -H "authorization: Bearer $secret" | jq -r '.approvals[0].id')
curl -s -X POST "$base/v1/device/approvals/$approval" -H "authorization: Bearer $secret" \
  -H 'content-type: application/json' \
  -d "{\"decision\":\"approve\",\"binding_code\":\"$(echo "$login" | jq -r .binding_code)\"}" > /dev/null
token=$(curl -s -X POST "$base/v1/token" -d grant_type=urn:openid:params:grant-type:ciba \
  -d auth_req_id="$(echo "$login" | jq -r .auth_req_id)" | jq -r .access_token)
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
  "audit durability: ${NOD_AUDIT__DURABILITY:-commit}"
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
events=$(sqlite3 "$work/data/nod.db" "SELECT COUNT(*) FROM audit_events WHERE kind='token_used'" 2>/dev/null || echo "?")
echo "median healthz: $healthz_rps req/s (p99 $(median "$work/healthz.p99" 2>/dev/null || true))"
echo "median verify:  $verify_rps req/s"
echo "verify/healthz throughput ratio per round: $(tr '\n' ' ' < "$work/ratio")"
echo "verify/healthz throughput ratio (median of rounds): $ratio"
echo "token_used events committed: $events"

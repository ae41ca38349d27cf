#!/usr/bin/env bash
# Benchmark: the pages people open most, over a large history. Fills a fresh database with
# HISTORY_EVENTS events (default 10 million): one user (`bench`) with half of them over two
# sessions, and 1,000 other users sharing the rest; then times 20 calls of each read below
# (median and p99, in ms) against a release `nod serve`.
#   scripts/bench-history.sh                    # SQLite
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test scripts/bench-history.sh
#   HISTORY_EVENTS=200000 scripts/bench-history.sh   # a quick look
# The events span the last 90 days, oldest first (ids grow with time, as nod writes them); the
# bench user's are token uses of its two sessions, with one `approved` every 100,000 events and
# no `session_revoked` at all (the rare and the absent kind).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${BENCH_PORT:-18090}
events=${HISTORY_EVENTS:-10000000}
calls=${HISTORY_CALLS:-20}
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

provision_bench_user
start_server
# Two sessions of `bench`, as an API client and a second client would have them; the first
# one's refresh token is also the browser's `nod_session` cookie for /activity.
sign_in_pair() { # prints "access refresh"
  local login approval
  login=$(curl -s -X POST "$base/v1/login" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"correct horse battery staple","client_name":"bench"}')
  approval=$(curl -s "$base/v1/device/approvals" -H "authorization: Bearer $device_secret" \
    | jq -r '.approvals[0].id')
  curl -s -X POST "$base/v1/device/approvals/$approval" -H "authorization: Bearer $device_secret" \
    -H 'content-type: application/json' \
    -d "{\"decision\":\"approve\",\"binding_code\":\"$(echo "$login" | jq -r .binding_code)\"}" > /dev/null
  curl -s -X POST "$base/v1/token" -d grant_type=urn:openid:params:grant-type:ciba \
    -d auth_req_id="$(echo "$login" | jq -r .auth_req_id)" | jq -r '"\(.access_token) \(.refresh_token)"'
}
read -r _ cookie < <(sign_in_pair)
sign_in_pair > /dev/null
sids=$(curl -s "$base/v1/device/sessions" -H "authorization: Bearer $device_secret" | jq -r '.sessions[].id')
sid_a=$(echo "$sids" | sed -n 1p)
sid_b=$(echo "$sids" | sed -n 2p)
[ -n "$sid_a" ] && [ -n "$sid_b" ] || { echo "no two sessions"; cat "$work/server.log"; exit 1; }
kill "$server"; wait "$server" 2> /dev/null || true; server=

# The fill, in the database itself (a generated series, no round trip per row), in place of the
# few events the sign-ins above wrote; ids 1..events, and the server goes on above them.
now_ms=$(($(date +%s) * 1000))
span_ms=$((90 * 86400 * 1000))
mine=$((events / 2))
others=$((events - mine))
echo "filling $events events ($mine for bench over two sessions, $others for 1,000 others)," \
  "database: ${NOD_DATABASE__URL%%:*}"
fill_started=$(date +%s)
fill_sql() { # the INSERT … SELECT over a series `n` of 1..events, in the given dialect's spelling
  local at="($now_ms - $span_ms + n * ($span_ms / $events))"
  cat << SQL
INSERT INTO audit_events (id, user_id, at, kind, sid, ip, user_agent, method, host, path, detail)
$overriding
SELECT n,
       CASE WHEN n % 2 = 0 THEN (SELECT id FROM users WHERE username = 'bench')
            ELSE 'other-' || (n % 1000) END,
       $at,
       CASE WHEN n % 2 = 0 AND n % 100000 = 0 THEN 'approved' ELSE 'token_used' END,
       CASE WHEN n % 2 = 1 THEN 'other-session-' || (n % 1000)
            WHEN n % 4 = 0 THEN '$sid_a' ELSE '$sid_b' END,
       '198.51.100.7', 'bench/1.0', 'GET', 'api.example', '/orders/' || (n % 977), NULL
FROM series
SQL
}
if [ -n "$bench_db" ]; then
  overriding="OVERRIDING SYSTEM VALUE"
  psql -q -v ON_ERROR_STOP=1 "$NOD_DATABASE__URL" << SQL
DELETE FROM audit_events;
WITH series AS (SELECT n FROM generate_series(1, $events) AS n)
$(fill_sql | sed 's/^FROM series$/FROM series;/')
SELECT setval(pg_get_serial_sequence('audit_events', 'id'), (SELECT max(id) FROM audit_events));
ANALYZE;
SQL
else
  overriding=""
  python3 - "$work/data/nod.db" << PY
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DELETE FROM audit_events")
db.execute("""WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series WHERE n < $events)
$(fill_sql)""")
db.commit()
db.execute("ANALYZE")
db.close()
PY
fi
echo "filled in $(($(date +%s) - fill_started)) s"

start_server
month_ago=$(date -u -d '@'$(((now_ms - 30 * 86400 * 1000) / 1000)) +%Y-%m-%dT%H:%M)
month_ago_end=$(date -u -d '@'$(((now_ms - 29 * 86400 * 1000) / 1000)) +%Y-%m-%dT%H:%M)
yesterday=$(date -u -d '@'$(((now_ms - 86400 * 1000) / 1000)) +%Y-%m-%dT%H:%M)
today=$(date -u +%Y-%m-%dT%H:%M)

# name url [curl args…]: $calls timed GETs, each must answer 200; prints median and p99 in ms.
measure() {
  local name=$1 url=$2; shift 2
  local times=() status
  for _ in $(seq 1 "$calls"); do
    read -r status t < <(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$@" "$url")
    if [ "$status" != 200 ]; then
      printf '| %s | answered %s |\n' "$name" "$status"
      return
    fi
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" '
    { v[NR] = $1 * 1000 }
    END {
      p99 = int(NR * 0.99 + 0.999); if (p99 > NR) p99 = NR
      printf "| %s | %.1f | %.1f |\n", name, v[int((NR + 1) / 2)], v[p99]
    }'
}
device=(-H "authorization: Bearer $device_secret")
web=(-H "cookie: nod_session=$cookie")
echo
echo "| read ($events events, $calls calls each) | median ms | p99 ms |"
echo "|---|---|---|"
measure "phone's session list (GET /v1/device/sessions)" "$base/v1/device/sessions" "${device[@]}"
measure "newest feed page (GET /v1/device/feed)" "$base/v1/device/feed" "${device[@]}"
measure "rare kind (?kind=approved)" "$base/v1/device/feed?kind=approved" "${device[@]}"
measure "absent kind (?kind=session_revoked)" "$base/v1/device/feed?kind=session_revoked" "${device[@]}"
measure "one session (?sid=…)" "$base/v1/device/feed?sid=$sid_b" "${device[@]}"
measure "/activity" "$base/activity" "${web[@]}"
measure "/activity?kind=approved" "$base/activity?kind=approved" "${web[@]}"
measure "/activity?kind=session_revoked" "$base/activity?kind=session_revoked" "${web[@]}"
measure "/activity?sid=…" "$base/activity?sid=$sid_b" "${web[@]}"
measure "/activity, a day a month back" "$base/activity?from=$month_ago&to=$month_ago_end&tz=0" "${web[@]}"
measure "/phone" "$base/phone" -H "cookie: nod_device=$device_secret"
measure "export, one day (GET /activity/export?format=jsonl)" \
  "$base/activity/export?format=jsonl&from=$yesterday&to=$today&tz=0" "${web[@]}"

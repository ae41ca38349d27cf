#!/usr/bin/env bash
# Restarts the PostgreSQL server under two running nod instances (docs/deploy.md, "Outages").
#
# Two instances share one fresh database and one data directory (keys, TOTP key). The script
# signs in twice through A, stops PostgreSQL and checks that both instances answer token uses
# and logins with 503 (no panic, no hang), starts PostgreSQL again, revokes the second session
# through B the moment B can write again, and then checks:
#   - both instances serve the first token (200) within 5 s of PostgreSQL being back;
#   - the revoked token is refused (401) on both, and was never answered 200 after the revoke;
#   - neither log holds a panic.
# It stops the machine's PostgreSQL: run it when nothing else uses that server (.ci/run runs it
# after the test suites). Needs root (pg_ctlcluster), curl, jq, psql, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

ADMIN_URL=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
PG_VERSION=$(ls /etc/postgresql | head -n1)
pg() { pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main "$@"; }
PASSWORD='correct horse battery staple'
port_a=18291 port_b=18292

work=$(mktemp -d)
db="nod_outage_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  pg start > /dev/null 2>&1 || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet --locked
bin="$(realpath "${CARGO_TARGET_DIR:-target}")/release/nod"
psql -q "$ADMIN_URL" -c "CREATE DATABASE $db"
unset NOD_CONFIG
export NOD_SERVER__DATA_DIR="$work/data" NOD_DATABASE__URL="${ADMIN_URL%/*}/$db"
export NOD_LOG__LEVEL=warn
# A request waits at most 1 s for a connection, so an outage is a prompt 503, not a hang.
export NOD_DATABASE__ACQUIRE_TIMEOUT=1s

# The CLI migrates the database and provisions the user and a phone (read through the device
# API, so the mock provider's in-memory outbox is not needed).
echo "$PASSWORD" | "$bin" user add alice --password-stdin > /dev/null
device_secret=$("$bin" device add alice --name phone --notify mock --json | jq -r .device_secret)

# One public URL for both, as behind a load balancer: it is the tokens' issuer.
export NOD_SERVER__PUBLIC_URL="http://127.0.0.1:$port_a"
start() { # NAME PORT
  NOD_SERVER__BIND="127.0.0.1:$2" "$bin" serve >> "$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$2/readyz" > /dev/null && return 0; sleep 0.1; done
  echo "instance $1 did not start"; cat "$work/$1.log"; exit 1
}
start A "$port_a"
start B "$port_b"
A="http://127.0.0.1:$port_a" B="http://127.0.0.1:$port_b"

sign_in() { # BASE → access token
  local login approval code
  login=$(curl -s -X POST "$1/v1/login" -H 'content-type: application/json' \
    -d "{\"username\":\"alice\",\"password\":\"$PASSWORD\",\"client_name\":\"outage script\"}")
  approval=$(curl -s "$1/v1/device/approvals" -H "authorization: Bearer $device_secret" \
    | jq -r '.approvals[0].id')
  code=$(echo "$login" | jq -r .binding_code)
  curl -s -o /dev/null -X POST "$1/v1/device/approvals/$approval" \
    -H "authorization: Bearer $device_secret" -H 'content-type: application/json' \
    -d "{\"decision\":\"approve\",\"binding_code\":\"$code\"}"
  curl -s -X POST "$1/v1/token" -d grant_type=urn:openid:params:grant-type:ciba \
    -d auth_req_id="$(echo "$login" | jq -r .auth_req_id)" | jq -r .access_token
}
sid_of() { python3 -c 'import base64, json, sys
part = sys.argv[1].split(".")[1]
print(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["sid"])' "$1"; }
verify() { # BASE TOKEN → HTTP status
  curl -s -o /dev/null -w '%{http_code}' -m 10 "$1/v1/verify" -H "authorization: Bearer $2" \
    -H 'x-forwarded-method: GET' -H 'x-forwarded-host: api.example' -H 'x-forwarded-uri: /orders'
}
login_status() { # BASE → HTTP status
  curl -s -o /dev/null -w '%{http_code}' -m 10 -X POST "$1/v1/login" \
    -H 'content-type: application/json' \
    -d "{\"username\":\"alice\",\"password\":\"$PASSWORD\",\"client_name\":\"outage script\"}"
}
now_ms() { date +%s%3N; }

failed=0
check() { # WHAT EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "ok    $1: $3"; else echo "FAIL  $1: expected $2, got $3"; failed=1; fi
}

kept=$(sign_in "$A")
doomed=$(sign_in "$A")
doomed_sid=$(sid_of "$doomed")
check "before: token on A" 200 "$(verify "$A" "$kept")"
check "before: token on B" 200 "$(verify "$B" "$kept")"

echo "== stopping PostgreSQL"
pg stop -m fast
check "outage: token on A" 503 "$(verify "$A" "$kept")"
check "outage: token on B" 503 "$(verify "$B" "$kept")"
check "outage: login on A" 503 "$(login_status "$A")"
check "outage: login on B" 503 "$(login_status "$B")"
check "outage: readyz on A" 503 "$(curl -s -o /dev/null -w '%{http_code}' "$A/readyz")"
for pid in "${pids[@]}"; do kill -0 "$pid" || { echo "FAIL  an instance died"; failed=1; }; done

echo "== starting PostgreSQL"
pg start
back=$(now_ms)
# The revocation, made through B as soon as B can write again (A may not be listening yet).
revoke_status=000
until [ "$revoke_status" = 200 ]; do
  revoke_status=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -X POST \
    "$B/v1/device/sessions/$doomed_sid/revoke" -H "authorization: Bearer $device_secret")
  [ $(( $(now_ms) - back )) -lt 10000 ] || break
  [ "$revoke_status" = 200 ] || sleep 0.05
done
check "recovery: revoke through B" 200 "$revoke_status"
revoked=$(now_ms)
echo "      revoked $(( revoked - back )) ms after PostgreSQL was back"

# Until both serve again: the revoked token must never pass, anywhere.
declare -A served=()
while [ ${#served[@]} -lt 2 ] && [ $(( $(now_ms) - back )) -lt 10000 ]; do
  for name in A B; do
    base=$([ "$name" = A ] && echo "$A" || echo "$B")
    status=$(verify "$base" "$doomed")
    if [ "$status" = 200 ]; then echo "FAIL  revoked token answered 200 on $name"; failed=1; fi
    if [ -z "${served[$name]:-}" ] && [ "$(verify "$base" "$kept")" = 200 ]; then
      served[$name]=$(( $(now_ms) - back ))
    fi
  done
  sleep 0.05
done
for name in A B; do
  took=${served[$name]:-none}
  if [ "$took" != none ] && [ "$took" -le 5000 ]; then
    echo "ok    recovery: $name serves again ${took} ms after PostgreSQL was back"
  else
    echo "FAIL  recovery: $name serves again after ${took} ms (limit 5000)"; failed=1
  fi
done
check "after: revoked token on A" 401 "$(verify "$A" "$doomed")"
check "after: revoked token on B" 401 "$(verify "$B" "$doomed")"
check "after: kept token on A" 200 "$(verify "$A" "$kept")"
check "after: login on B" 202 "$(login_status "$B")"
if grep -q panicked "$work"/*.log; then echo "FAIL  a log holds a panic"; failed=1; fi

if [ "$failed" -ne 0 ]; then
  echo "pg-outage: FAILED"; tail -n 30 "$work"/*.log; exit 1
fi
echo "pg-outage: passed"

#!/usr/bin/env bash
# Fuzzes the API against its own document: schemathesis (pinned, in a virtualenv reused across
# runs) with every check, against a fresh `nod serve` on a free loopback port with its data in a
# scratch directory. Endpoints that need credentials get them in runs of their own:
#   1. everything that needs none (client API, pages, discovery, operations, the test endpoint);
#   2. /v1/introspect with a resource server's HTTP Basic credentials;
#   3. /v1/verify, then /v1/logout, with a live access token (logout ends its session);
#   4. /v1/device/* with a paired device's secret (revoking a device last; not the feed stream,
#      whose good requests never end).
# Fails on any failure or 5xx; the output ends with schemathesis' summary line of each run.
# Usage: bash scripts/schemathesis.sh   (SCHEMATHESIS_EXAMPLES=N to change examples per operation)
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
venv="/var/tmp/nod-schemathesis-$version"
examples="${SCHEMATHESIS_EXAMPLES:-60}"

command -v jq > /dev/null || apt-get install -y jq > /dev/null
command -v curl > /dev/null || apt-get install -y curl > /dev/null
if [ ! -x "$venv/bin/st" ]; then
  echo "== installing schemathesis $version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" 2> /dev/null || {
    apt-get install -y python3-venv > /dev/null && rm -rf "$venv" && python3 -m venv "$venv"
  }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

cargo build --quiet --locked --bin nod
bin="$(realpath "${CARGO_TARGET_DIR:-target}")/debug/nod"

work=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2> /dev/null && wait "$server" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
unset NOD_CONFIG
export NOD_SERVER__DATA_DIR="$work/data" NOD_DATABASE__URL="sqlite://$work/data/nod.db"
export NOD_SERVER__BIND="127.0.0.1:$port" NOD_SERVER__PUBLIC_URL="$base"
export NOD_NOTIFY__TEST_ENDPOINT=true NOD_LOG__LEVEL=warn

# The user, its phone (mock provider) and a resource server, before the server starts (the CLI
# shares the database).
password='correct horse battery staple'
echo "$password" | "$bin" user add alice --password-stdin > /dev/null
device_secret=$("$bin" device add alice --name fuzz --notify mock --json | jq -re .device_secret)
rs_secret=$("$bin" resource-server add fuzz --json | jq -re .secret)

"$bin" serve >> "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/healthz" > /dev/null && break; sleep 0.1; done
curl -sf "$base/healthz" > /dev/null || { echo "nod did not start"; cat "$work/server.log"; exit 1; }

# A live access token: log in, approve on the phone, redeem.
login=$(curl -sf -X POST "$base/v1/login" -H 'content-type: application/json' \
  -d "{\"username\":\"alice\",\"password\":\"$password\",\"client_name\":\"fuzz\"}")
approval=$(curl -sf "$base/v1/device/approvals" -H "authorization: Bearer $device_secret" \
  | jq -re '.approvals[0].id')
curl -sf -X POST "$base/v1/device/approvals/$approval" -H "authorization: Bearer $device_secret" \
  -H 'content-type: application/json' \
  -d "{\"decision\":\"approve\",\"binding_code\":\"$(jq -r .binding_code <<< "$login")\"}" > /dev/null
access_token=$(curl -sf -X POST "$base/v1/token" \
  -d grant_type=urn:openid:params:grant-type:ciba \
  -d auth_req_id="$(jq -r .auth_req_id <<< "$login")" | jq -re .access_token)

failed=0
config="$PWD/scripts/schemathesis.toml"
# One schemathesis run over the operations its arguments select; `budget` seconds at most.
fuzz() {
  local name=$1 budget=$2
  shift 2
  echo "== schemathesis: $name"
  local status=0
  # From the scratch directory: schemathesis keeps a crash cache in `.schemathesis/` there.
  (cd "$work" && timeout --kill-after=10 "$budget" "$venv/bin/st" --config-file "$config" \
    run "$base/openapi.json" --checks all --max-examples "$examples" --max-failures 20 \
    --workers 2 --seed 1 --request-timeout 10 --no-color "$@") > "$work/$name.log" 2>&1 \
    || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$work/$name.log"
    [ "$status" -eq 124 ] && echo "schemathesis: $name took longer than $budget s"
    failed=1
  else
    # What was tested, the warnings, and the summary line (`=== No issues found in 1.5s ===`).
    sed -n '/= SUMMARY =/,$p' "$work/$name.log"
  fi
}

# The test endpoint is left out too: a `wait` up to 60 s for a made-up username is a whole
# long-poll per example (tests/api/mock_endpoint.rs checks its parameters).
fuzz anonymous 120 --exclude-path-regex '^/v1/(device/|introspect|verify|logout|test/)'
fuzz introspect 30 --include-path /v1/introspect --auth "fuzz:$rs_secret"
fuzz verify 30 --include-path /v1/verify -H "Authorization: Bearer $access_token"
# Logging out ends the token's session: after /v1/verify.
fuzz logout 20 --include-path /v1/logout -H "Authorization: Bearer $access_token"
# The feed stream is left out: a request it takes never ends, so each costs schemathesis a
# whole request timeout (tests/api/feed/stream.rs checks what it refuses).
fuzz device 60 --include-path-regex '^/v1/device/' --exclude-path /v1/device/feed/stream \
  --exclude-path '/v1/device/devices/{id}/revoke' -H "Authorization: Bearer $device_secret"
# Revoking a device could revoke this one: that operation runs last, on its own.
fuzz device-revoke 30 --include-path '/v1/device/devices/{id}/revoke' \
  -H "Authorization: Bearer $device_secret"

if grep -q 'panicked' "$work/server.log"; then
  echo "the server panicked:"
  cat "$work/server.log"
  failed=1
fi
exit "$failed"

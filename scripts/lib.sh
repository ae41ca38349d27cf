# Shared by the load scripts: a fresh nod in a temporary directory, and a signed-in token.
# Source it after setting `port`; it sets `work`, `bin`, `base` and defines the functions below.
# The database is SQLite in the temporary directory, or, with BENCH_POSTGRES_URL set to an admin
# URL (postgres://postgres@127.0.0.1:5432/test), a fresh PostgreSQL database dropped at exit.
# shellcheck shell=bash

command -v wrk > /dev/null || apt-get install -y wrk > /dev/null
command -v jq > /dev/null || apt-get install -y jq > /dev/null
work=$(mktemp -d)
server=
bench_db=
cleanup() {
  [ -n "$server" ] && kill -9 "$server" 2> /dev/null
  [ -n "$bench_db" ] && psql -q "$BENCH_POSTGRES_URL" \
    -c "DROP DATABASE IF EXISTS $bench_db WITH (FORCE)" > /dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/nod"
export NOD_SERVER__DATA_DIR="$work/data" NOD_DATABASE__URL="sqlite://$work/data/nod.db"
if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
  bench_db="nod_bench_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  psql -q "$BENCH_POSTGRES_URL" -c "CREATE DATABASE $bench_db"
  export NOD_DATABASE__URL="${BENCH_POSTGRES_URL%/*}/$bench_db"
fi
export NOD_SERVER__BIND="127.0.0.1:$port" NOD_SERVER__PUBLIC_URL="http://127.0.0.1:$port"
export NOD_LOG__LEVEL=warn
base="http://127.0.0.1:$port"

# Starts `nod serve` in the background (pid in $server) and waits until it answers.
start_server() {
  "$bin" serve >> "$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -sf "$base/healthz" > /dev/null && return 0; sleep 0.1; done
  echo "nod did not start"; cat "$work/server.log"; exit 1
}

# Creates user `bench` with a mock phone (before the server starts: the CLI shares the database).
provision_bench_user() {
  echo 'correct horse battery staple' | "$bin" user add bench --password-stdin > /dev/null
  device_secret=$("$bin" device add bench --name bench --notify mock --json | jq -r .device_secret)
}

# Logs `bench` in, approves on its phone, redeems: prints the access token.
sign_in() {
  local login approval
  login=$(curl -s -X POST "$base/v1/login" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"correct horse battery staple","client_name":"bench"}')
  approval=$(curl -s "$base/v1/device/approvals" -H "authorization: Bearer $device_secret" \
    | jq -r '.approvals[0].id')
  curl -s -X POST "$base/v1/device/approvals/$approval" -H "authorization: Bearer $device_secret" \
    -H 'content-type: application/json' \
    -d "{\"decision\":\"approve\",\"binding_code\":\"$(echo "$login" | jq -r .binding_code)\"}" > /dev/null
  curl -s -X POST "$base/v1/token" -d grant_type=urn:openid:params:grant-type:ciba \
    -d auth_req_id="$(echo "$login" | jq -r .auth_req_id)" | jq -r .access_token
}

# Counts committed `token_used` events in the database (python3's sqlite3: no sqlite3 CLI needed).
count_uses() {
  if [ -n "$bench_db" ]; then
    psql -tA "$NOD_DATABASE__URL" -c "SELECT COUNT(*) FROM audit_events WHERE kind = 'token_used'"
    return
  fi
  python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT COUNT(*) FROM audit_events WHERE kind = ?", ("token_used",)).fetchone()[0])' \
    "$work/data/nod.db"
}

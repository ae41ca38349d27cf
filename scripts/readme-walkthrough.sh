#!/usr/bin/env bash
# Runs the README's walk-through verbatim (from the repository root, as the README says) against
# a fresh nod whose data lives in a temporary directory, then checks what the README promises:
# the token's header and claims, and its kid in the JWKS.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT

# Server and CLI share this data directory instead of the checkout's data/.
export NOD_SERVER__DATA_DIR="$work/data"
export NOD_DATABASE__URL="sqlite://$work/data/nod.db"

cargo build --release --quiet
if curl -s -o /dev/null http://127.0.0.1:8080/healthz; then
  echo "port 8080 is already in use: stop what listens there first"; exit 1
fi
cargo run --release --quiet -- serve > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:8080/healthz > /dev/null && break
  sleep 0.1
done

# The snippet, exactly as the README shows it.
sed -n '/<!-- walkthrough:begin -->/,/<!-- walkthrough:end -->/p' README.md \
  | sed '1,2d' | sed '$d' | sed '$d' > "$work/walkthrough.sh"
# shellcheck disable=SC1091
source "$work/walkthrough.sh" || { cat "$work/server.log"; exit 1; }

b64url() { tr '_-' '/+' | awk '{ while (length($0) % 4) $0 = $0 "="; print }' | base64 -d; }
header=$(echo "$ACCESS_TOKEN" | cut -d. -f1 | b64url)
claims=$(echo "$ACCESS_TOKEN" | cut -d. -f2 | b64url)
kid=$(echo "$header" | jq -r .kid)
passed=0
check() {
  if eval "$2"; then echo "ok: $1"; passed=$((passed + 1)); else echo "FAILED: $1"; cat "$work/server.log"; exit 1; fi
}
check "typ is at+jwt" '[ "$(echo "$header" | jq -r .typ)" = at+jwt ]'
check "alg is EdDSA" '[ "$(echo "$header" | jq -r .alg)" = EdDSA ]'
check "kid is in the JWKS" 'curl -s http://127.0.0.1:8080/.well-known/jwks.json | jq -e --arg k "$kid" "any(.keys[]; .kid == \$k)" > /dev/null'
check "claims carry sub, sid and jti" 'echo "$claims" | jq -e ".sub and .sid and .jti" > /dev/null'
check "exp is 5 minutes after iat" '[ "$(echo "$claims" | jq ".exp - .iat")" = 300 ]'
echo "walkthrough: $passed passed, 0 failed"

#!/usr/bin/env bash
# Runs docs/testing.md's example test verbatim (the block between its example markers) against
# the nod built from this checkout, put first on the PATH. The example starts its own server on
# port 8181 with data in a scratch directory; this prints `example: N passed, 0 failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap '[ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null; rm -rf "$work" "${NOD_SERVER__DATA_DIR:-/nonexistent}"' EXIT

if curl -s -o /dev/null http://127.0.0.1:8181/healthz; then
  echo "port 8181 is already in use: stop what listens there first"; exit 1
fi
cargo build --quiet --locked --bin nod
# `nod` on the PATH as the doc assumes (a shell function would put a subshell between `$!` and
# the server, and the example's `kill $SERVER` would miss it).
mkdir "$work/bin"
ln -s "$(realpath "${CARGO_TARGET_DIR:-target}")/debug/nod" "$work/bin/nod"
export PATH="$work/bin:$PATH"
unset NOD_CONFIG

# The example, exactly as docs/testing.md shows it.
sed -n '/<!-- example:begin -->/,/<!-- example:end -->/p' docs/testing.md \
  | sed '1,2d' | sed '$d' | sed '$d' > "$work/example.sh"
# shellcheck disable=SC1091
source "$work/example.sh"

echo "example: $PASSED passed, $FAILED failed"
if [ "$FAILED" -ne 0 ] || [ "$PASSED" -eq 0 ]; then
  cat "$NOD_SERVER__DATA_DIR/server.log" 2>/dev/null || true
  exit 1
fi

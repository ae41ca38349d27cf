#!/usr/bin/env bash
# Crash safety of the audit feed: runs /v1/verify load, stops nod mid-run — `kill -9` (crash) or
# SIGTERM (graceful) — restarts it on the same database, and checks that every 200 the load
# generator saw has its committed `token_used` event. Events may exceed the 200s (a commit whose
# answer never reached the client); fewer would be a lost record.
#   scripts/crash-test.sh [crash|graceful] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-crash}
runs=${2:-3}
port=${CRASH_PORT:-18090}
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
provision_bench_user
start_server
token=$(sign_in)

passed=0
failed=0
for run in $(seq 1 "$runs"); do
  before=$(count_uses)
  wrk -t2 -c64 -d6s -H "Authorization: Bearer $token" "$base/v1/verify" > "$work/wrk-$run.txt" 2>&1 &
  load=$!
  sleep 3
  if [ "$mode" = crash ]; then
    kill -9 "$server"
    wait "$server" 2>/dev/null || true
    exit_note="killed with SIGKILL"
  else
    kill -TERM "$server"
    status=0
    wait "$server" || status=$?
    exit_note="exited with status $status after SIGTERM"
    [ "$status" = 0 ] || { echo "run $run: nod $exit_note"; failed=$((failed + 1)); }
  fi
  wait "$load" || true
  # 200s seen = completed responses minus non-2xx ones.
  completed=$(awk '/requests in/ {print $1}' "$work/wrk-$run.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk-$run.txt")
  ok=$(( completed - ${non2xx:-0} ))
  start_server # restarts cleanly on the same database (and WAL)
  after=$(count_uses)
  recorded=$(( after - before ))
  if [ "$recorded" -ge "$ok" ]; then
    verdict="ok"; passed=$((passed + 1))
  else
    verdict="MISSING $(( ok - recorded ))"; failed=$((failed + 1))
  fi
  echo "run $run ($mode): nod $exit_note; 200s seen by wrk: $ok; token_used events committed: $recorded; $verdict"
done
echo "$mode: $passed passed, $failed failed"
[ "$failed" = 0 ]

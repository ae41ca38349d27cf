#!/usr/bin/env bash
# Enumeration by timing: login latency for an existing username (wrong password) against an
# unknown one, interleaved, N samples each; prints the medians and their ratio (unknown/existing).
# nod runs argon2 for unknown users too, so the ratio should sit near 1 (issue 6: 0.8–1.25).
#   scripts/login-latency.sh [SAMPLES]
set -euo pipefail
cd "$(dirname "$0")/.."
samples=${1:-200}
port=${LATENCY_PORT:-18097}
# The guessing limits would answer 429 (fast) after a few failures and hide what is measured.
export NOD_LIMITS__PASSWORD_MAX_FAILURES=1000000 NOD_LIMITS__IP_MAX_FAILURES=1000000
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
provision_bench_user
start_server

time_login() { # username → seconds
  curl -s -o /dev/null -w '%{time_total}\n' -X POST "$base/v1/login" \
    -H 'content-type: application/json' -d "{\"username\":\"$1\",\"password\":\"not the password\"}"
}
for _ in $(seq 1 10); do time_login bench > /dev/null; time_login nobody > /dev/null; done # warm-up
: > "$work/existing"; : > "$work/unknown"
for _ in $(seq 1 "$samples"); do
  time_login bench >> "$work/existing"
  time_login "nobody-$RANDOM" >> "$work/unknown"
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
existing=$(median "$work/existing")
unknown=$(median "$work/unknown")
ratio=$(awk -v u="$unknown" -v e="$existing" 'BEGIN { printf "%.3f", u / e }')
echo "samples: $samples each (interleaved), release build, argon2id m=19456 t=2 p=1"
echo "median login latency, existing user (wrong password): ${existing}s"
echo "median login latency, unknown user:                   ${unknown}s"
echo "ratio unknown/existing: $ratio"
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.8 && r <= 1.25) }' && echo "within 0.8–1.25: yes" || { echo "within 0.8–1.25: NO"; exit 1; }

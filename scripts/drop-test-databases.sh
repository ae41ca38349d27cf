#!/usr/bin/env bash
# Drops the schemas and databases the test suite creates on a PostgreSQL server
# (`nod_test_<16 hex>`).
# Each test drops its own database when it ends; this removes those a crashed or killed run
# (or `fresh_postgres_url()`, which leaves its database for a multi-instance test) left behind.
# Never touches other databases — but it does end a test run in progress on the same server
# (another checkout's), so run it before or after a run, not beside one.
#   scripts/drop-test-databases.sh [ADMIN_URL]   (default: $TEST_POSTGRES_URL)
set -euo pipefail
admin=${1:-${TEST_POSTGRES_URL:-}}
[ -n "$admin" ] || { echo "usage: $0 ADMIN_URL (or set TEST_POSTGRES_URL)" >&2; exit 2; }
# `_` is a LIKE wildcard: escape it so only the exact prefix matches.
names=$(psql "$admin" -X -At -v ON_ERROR_STOP=1 \
  -c "SELECT datname FROM pg_database WHERE datname LIKE 'nod\_test\_%'")
count=0
for name in $names; do
  # The name came from the server, but check its shape before putting it into SQL.
  [[ $name =~ ^nod_test_[0-9a-f]{16}$ ]] || { echo "skipping unexpected name $name" >&2; continue; }
  psql "$admin" -X -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $name WITH (FORCE)"
  count=$((count + 1))
done
# And the schemas tests create in the admin URL's own database.
schemas=$(psql "$admin" -X -At -v ON_ERROR_STOP=1 \
  -c "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'nod\_test\_%'")
for name in $schemas; do
  [[ $name =~ ^nod_test_[0-9a-f]{16}$ ]] || { echo "skipping unexpected name $name" >&2; continue; }
  psql "$admin" -X -q -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS $name CASCADE"
  count=$((count + 1))
done
echo "dropped $count test database(s) and schema(s)"

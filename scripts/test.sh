#!/usr/bin/env bash
# The whole test suite: every test on SQLite, then the integration suite again on PostgreSQL.
#
# PostgreSQL: TEST_POSTGRES_URL names a server, database and user allowed to CREATE SCHEMA and
# CREATE DATABASE (each test gets a schema of its own, dropped after it); unset, the local default
# postgres://postgres@127.0.0.1:5432/test is used when it answers. With no server, the
# PostgreSQL run is skipped with a line saying so (and the PostgreSQL-only tests of the SQLite
# run say they were skipped).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (SQLite)"
env -u TEST_POSTGRES_URL cargo test --locked "$@"

url=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
if ! psql -q "$url" -c 'SELECT 1' > /dev/null 2>&1; then
  if [ -n "${CI:-}" ]; then
    echo "== PostgreSQL is required under CI and does not answer at TEST_POSTGRES_URL"
    exit 1
  fi
  echo "== PostgreSQL run skipped: no PostgreSQL answers at TEST_POSTGRES_URL (or the default)"
  exit 0
fi
echo "== cargo test --test api (PostgreSQL: a schema per test)"
TEST_POSTGRES_URL=$url cargo test --locked --test api "$@"

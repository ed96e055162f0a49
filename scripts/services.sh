#!/usr/bin/env bash
# Start (or stop) the services the tests use that cannot start themselves:
# a PostgreSQL server on loopback for the storage contract and scale-out
# tests. Exports nothing: tests read VANTAGE_TEST_POSTGRES_DSN, which defaults
# to the server started here.
set -euo pipefail
action=${1:-start}
if ! command -v pg_lsclusters >/dev/null; then
    echo "services.sh: PostgreSQL is not installed (run scripts/setup.sh)" >&2
    exit 0
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
case "$action" in
start)
    if ! pg_lsclusters -h | grep -q "^$version main"; then
        pg_createcluster "$version" main >/dev/null
    fi
    if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
        pg_ctlcluster "$version" main start
    fi
    # A role and database for the tests (loopback only, trust over the socket).
    su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_roles WHERE rolname='vantage'\"" | grep -q 1 \
        || su postgres -c "psql -q -c \"CREATE ROLE vantage LOGIN SUPERUSER PASSWORD 'vantage'\""
    su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_database WHERE datname='vantage_test'\"" | grep -q 1 \
        || su postgres -c "createdb -O vantage vantage_test"
    echo "==> PostgreSQL $version running on 127.0.0.1:5432 (database vantage_test)"
    ;;
stop)
    pg_ctlcluster "$version" main stop || true
    ;;
*)
    echo "usage: services.sh start|stop" >&2
    exit 2
    ;;
esac

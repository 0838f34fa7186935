#!/usr/bin/env bash
# The SQL Server and MongoDB connector suite against real servers in Docker.
#
# Starts mcr.microsoft.com/mssql/server:2022-latest and mongo:7 (and MariaDB
# for the platform's own database when DATABASE_URL is unset), waits until
# they answer, then runs the ignored API tests in
# api-server/tests/api/connectors_e2e.rs with KATALUSIS_E2E_SQLSERVER_URL and
# KATALUSIS_E2E_MONGODB_URL set. The containers are removed on exit.
#
#   scripts/connectors-e2e.sh            # both servers
#   ONLY=sqlserver scripts/connectors-e2e.sh
#   ONLY=mongodb scripts/connectors-e2e.sh
#
# Ports (loopback only): MSSQL_PORT (14330), MONGO_PORT (27018), MARIADB_PORT (33061).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v docker >/dev/null || { echo "connectors-e2e: docker is needed" >&2; exit 1; }

ONLY="${ONLY:-}"
MSSQL_PORT="${MSSQL_PORT:-14330}"
MONGO_PORT="${MONGO_PORT:-27018}"
MARIADB_PORT="${MARIADB_PORT:-33061}"
# Throwaway containers; SQL Server wants a password with three character classes.
SA_PASSWORD="${SA_PASSWORD:-Katalusis-e2e-$RANDOM-Pw}"
MONGO_PASSWORD="${MONGO_PASSWORD:-katalusis-e2e-$RANDOM}"
PREFIX="katalusis-e2e-$$"
started=()

cleanup() {
  for c in "${started[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

start() { # name, docker run arguments…
  local name="$PREFIX-$1"
  shift
  docker run -d --name "$name" "$@" >/dev/null
  started+=("$name")
}

wait_for() { # what, seconds, command…
  local what="$1" seconds="$2"
  shift 2
  for ((i = 0; i < seconds; i += 2)); do
    if "$@" >/dev/null 2>&1; then
      echo "connectors-e2e: $what is ready"
      return 0
    fi
    sleep 2
  done
  echo "connectors-e2e: $what did not answer within ${seconds}s" >&2
  return 1
}

want() { [[ -z "$ONLY" || "$ONLY" == "$1" ]]; }

filters=()
if want sqlserver; then
  start mssql -e ACCEPT_EULA=Y -e "MSSQL_SA_PASSWORD=$SA_PASSWORD" \
    -p "127.0.0.1:$MSSQL_PORT:1433" mcr.microsoft.com/mssql/server:2022-latest
  wait_for "SQL Server" 180 docker exec "$PREFIX-mssql" /opt/mssql-tools18/bin/sqlcmd \
    -C -S localhost -U sa -P "$SA_PASSWORD" -Q "SELECT 1"
  export KATALUSIS_E2E_SQLSERVER_URL="sqlserver://sa:$SA_PASSWORD@127.0.0.1:$MSSQL_PORT/master"
  filters+=(connectors_e2e::sqlserver)
fi
if want mongodb; then
  start mongo -e MONGO_INITDB_ROOT_USERNAME=root -e "MONGO_INITDB_ROOT_PASSWORD=$MONGO_PASSWORD" \
    -p "127.0.0.1:$MONGO_PORT:27017" mongo:7
  wait_for "MongoDB" 120 docker exec "$PREFIX-mongo" mongosh --quiet -u root \
    -p "$MONGO_PASSWORD" --authenticationDatabase admin --eval "db.runCommand({ping: 1}).ok"
  export KATALUSIS_E2E_MONGODB_URL="mongodb://root:$MONGO_PASSWORD@127.0.0.1:$MONGO_PORT/?authSource=admin"
  filters+=(connectors_e2e::mongodb)
fi
if [[ ${#filters[@]} -eq 0 ]]; then
  echo "connectors-e2e: ONLY must be sqlserver or mongodb" >&2
  exit 2
fi

# The API tests make their own MariaDB databases (sqlx::test) through DATABASE_URL.
if [[ -z "${DATABASE_URL:-}" ]]; then
  start mariadb -e MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1 -p "127.0.0.1:$MARIADB_PORT:3306" mariadb:11
  wait_for "MariaDB" 90 docker exec "$PREFIX-mariadb" mariadb -uroot -e "SELECT 1"
  export DATABASE_URL="mysql://root@127.0.0.1:$MARIADB_PORT/mysql"
fi

for f in "${filters[@]}"; do
  cargo test -p katalusis-api-server --test api "$f" -- --ignored --test-threads=1
done
echo "connectors-e2e: passed"

#!/usr/bin/env bash
# The newcomer's first hour, automated: clone the repository into a temp
# directory, run the README's quick-start commands, start the demo and check
# that the UI and the API answer. Slow (a cold release build); not part of CI.
#
#   scripts/newcomer.sh            # clone this checkout's HEAD
#   REPO=<url or path> scripts/newcomer.sh
#   SKIP_TESTS=1 scripts/newcomer.sh   # skip `make test` (the longest step)
set -euo pipefail

REPO=${REPO:-$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)}
PORT=${PORT:-18080}
WORK=$(mktemp -d /tmp/katalusis-newcomer.XXXXXX)
DB="katalusis_newcomer_$$"
export DATABASE_URL="mysql://root@127.0.0.1:3306/$DB"
export KATALUSIS_BIND="127.0.0.1:$PORT"
server=""

cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  mysql --protocol=tcp -h127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS \`$DB\`" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { echo "newcomer: FAILED: $*" >&2; exit 1; }

step "clone $REPO into $WORK"
git clone -q "$REPO" "$WORK/katalusis"
cd "$WORK/katalusis"

if [[ -z ${SKIP_TESTS:-} ]]; then
  step "make test (the README's second command)"
  make test
fi

# `make demo` builds before it serves; building in the foreground first keeps
# a slow cold build (many minutes on two cores) apart from the readiness wait.
step "build (release, as make run does)"
make web-build
${CARGO:-cargo} build --release -p katalusis-api-server --bin katalusis-api

step "make demo (make run with KATALUSIS_DEMO=true)"
make demo >"$WORK/server.log" 2>&1 &
server=$!
for _ in $(seq 1 180); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { tail -50 "$WORK/server.log"; fail "the server exited"; }
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null || fail "the server did not become ready"

step "the UI answers"
curl -fsS "http://127.0.0.1:$PORT/" | grep -q '<div id="root">' || fail "no SPA at /"
curl -fsS "http://127.0.0.1:$PORT/admin/runs" | grep -q '<div id="root">' || fail "no SPA history fallback"

step "the logged passwords sign in"
log=$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/server.log")
password_of() { grep -E "$1" <<<"$log" | grep -oE 'password[=:] *"?[^ "]+' | head -1 | sed -E 's/password[=:] *"?//'; }
admin_pw=$(password_of 'created the first administrator')
client_pw=$(password_of 'demo-client')
[[ -n $admin_pw && -n $client_pw ]] || fail "passwords not found in the log"
login() {
  curl -fsS -H 'Content-Type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"$2\"}" "http://127.0.0.1:$PORT/api/auth/login" | jq -r .accessToken
}
admin=$(login admin "$admin_pw")
client=$(login demo-client "$client_pw")

step "the demo is populated and its runs finish"
for _ in $(seq 1 60); do
  done_runs=$(curl -fsS -H "Authorization: Bearer $client" "http://127.0.0.1:$PORT/api/runs" |
    jq '[.items[] | select(.status == "succeeded")] | length')
  [[ $done_runs -ge 2 ]] && break
  sleep 1
done
[[ $done_runs -ge 2 ]] || fail "the demo client does not see two finished runs"
workflows=$(curl -fsS -H "Authorization: Bearer $admin" "http://127.0.0.1:$PORT/api/workflows" | jq .total)
templates=$(curl -fsS -H "Authorization: Bearer $admin" "http://127.0.0.1:$PORT/api/templates" | jq length)
echo "workflows: $workflows, node templates: $templates, demo client's finished runs: $done_runs"
[[ $workflows -ge 2 && $templates -ge 5 ]] || fail "the demo or the starter library is missing"

echo
echo "newcomer: OK"

#!/usr/bin/env bash
# Fuzzes the running API server from its own OpenAPI document with
# schemathesis, once per role (client, manager, admin: the admin last, since
# it may deactivate or re-role the others).
#
#   scripts/schemathesis.sh            # needs the katalusis-api binary
#
# Starts the server on a fresh database with the demo seed (a manager, a
# client, their assignment, starter templates, workflows and finished runs),
# gives the demo users known passwords through the admin API, and runs
# `schemathesis run --checks all` with each role's token. Operations that end
# the fuzzer's own session (logout, password change, refresh, ending
# sessions), the event streams (they never end), the three AI operations
# that call a model (generate-workflow, summaries and a chat message: no
# model is configured here, so every accepted request answers 503
# `ai_disabled` by design) and the admin's AI endpoint setting (a fuzzed
# base URL would make the model-calling operations reach arbitrary hosts)
# are excluded; the API tests cover them (the AI ones with a scripted model). Prints the failure count per role and exits non-zero if
# any role has failures. Needs `make deps-schemathesis` (the pinned version
# in $KATALUSIS_VENV).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${KATALUSIS_VENV:-/opt/katalusis-venv}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${KATALUSIS_API_BIN:-$TARGET/debug/katalusis-api}
MYSQL=${SCHEMATHESIS_MYSQL_URL:-mysql://root@127.0.0.1:3306}
EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-25}
# A fixed seed makes `make test` reproducible; set another to explore.
SEED=${SCHEMATHESIS_SEED:-20261130}
REPORTS=${SCHEMATHESIS_REPORT_DIR:-/tmp/katalusis-schemathesis}
PASSWORD=fuzz-password-1
CONFIG=$PWD/scripts/schemathesis.toml

[[ -x $BIN ]] || { echo "schemathesis.sh: $BIN missing (cargo build -p katalusis-api-server)" >&2; exit 2; }
[[ -x $VENV/bin/schemathesis ]] || { echo "schemathesis.sh: run make deps-schemathesis" >&2; exit 2; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
db="katalusis_fuzz_$$"
base="http://127.0.0.1:$port"
log=$(mktemp)
rm -rf "$REPORTS" && mkdir -p "$REPORTS"

cleanup() {
  [[ -n ${server:-} ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  mysql --protocol=tcp -h127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS \`$db\`" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

# A clean environment: the server refuses KATALUSIS_* names it does not know
# (such as this script's own KATALUSIS_API_BIN).
env -i PATH="$PATH" DATABASE_URL="$MYSQL/$db" KATALUSIS_BIND="127.0.0.1:$port" \
  KATALUSIS_ADMIN_PASSWORD="$PASSWORD" KATALUSIS_JWT_SECRET=fuzz-secret-fuzz-secret-fuzz-secret-1 \
  KATALUSIS_DEMO=true KATALUSIS_ARGON2_MEMORY_KIB=1024 KATALUSIS_ARGON2_ITERATIONS=1 \
  KATALUSIS_LOGIN_IP_MAX_FAILURES=100000 KATALUSIS_SANDBOX=${KATALUSIS_SANDBOX:-bwrap} \
  "$BIN" >"$log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.5
done

api() { # method path token [body]
  curl -fsS -X "$1" "$base$2" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' ${4:+-d "$4"}
}
login() {
  curl -fsS "$base/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"$PASSWORD\"}" | jq -r .accessToken
}
admin=$(login admin)
for user in demo-manager demo-client; do
  id=$(api GET "/api/admin/users?q=$user" "$admin" | jq -r ".items[] | select(.username==\"$user\") | .id")
  api POST "/api/admin/users/$id/password" "$admin" "{\"password\":\"$PASSWORD\"}" >/dev/null
done

status=0
# schemathesis keeps a crash cache in the working directory: not in the clone.
cd "$REPORTS"
for role in client manager admin; do
  case $role in
    client) token=$(login demo-client) ;;
    manager) token=$(login demo-manager) ;;
    admin) token=$(login admin) ;;
  esac
  set +e
  "$VENV/bin/schemathesis" --config-file "$CONFIG" run "$base/api/openapi.json" \
    --checks all --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 --request-timeout 20 \
    --header "Authorization: Bearer $token" \
    --exclude-path /api/auth/logout --exclude-path /api/auth/password \
    --exclude-path /api/auth/refresh --exclude-path-regex 'sessions' \
    --exclude-path-regex '/events$' --exclude-path /api/events \
    --exclude-path /api/ai/generate-workflow --exclude-path /api/ai/summaries \
    --exclude-path-regex '^/api/ai/conversations/\{id\}/messages$' \
    --exclude-name 'PUT /api/admin/ai/settings' \
    --report junit --report-junit-path "$REPORTS/$role.xml" \
    --no-color >"$REPORTS/$role.log" 2>&1
  code=$?
  set -e
  failures=$(python3 - "$REPORTS/$role.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print("?"); sys.exit()
print(sum(len(tc.findall("failure")) + len(tc.findall("error")) for tc in root.iter("testcase")))
PY
)
  echo "schemathesis[$role]: exit $code, $failures failing operations (log: $REPORTS/$role.log)"
  [[ $code -eq 0 ]] || status=1
done
exit $status

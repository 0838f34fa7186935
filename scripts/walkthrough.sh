#!/usr/bin/env bash
# The README's curl walkthrough: admin creates people and a node, a manager saves
# a workflow for their client and is refused another manager's client.
# Usage: BASE=http://127.0.0.1:8080 ADMIN_PASSWORD=... scripts/walkthrough.sh
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8080}
ADMIN_LOGIN=${ADMIN_LOGIN:-admin}
api() { # METHOD PATH TOKEN [JSON] -> prints body, fails on an unexpected status
  local method=$1 path=$2 token=$3 body=${4:-} expect=${EXPECT:-2..}
  local out; out=$(mktemp)
  local code; code=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "$BASE$path" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${body:+--data "$body"})
  cat "$out"; rm -f "$out"
  [[ $code =~ ^$expect$ ]] || { echo "unexpected HTTP $code for $method $path" >&2; exit 1; }
}

# 1. The admin logs in.
ADMIN=$(curl -sS -X POST "$BASE/api/auth/login" -H 'Content-Type: application/json' \
  --data "{\"login\":\"$ADMIN_LOGIN\",\"password\":\"$ADMIN_PASSWORD\"}" | jq -r .accessToken)

# 2. A manager, a client, and another manager with their own client.
mk_user() { api POST /api/admin/users "$ADMIN" \
  "{\"username\":\"$1\",\"email\":\"$1@example.com\",\"displayName\":\"$1\",\"role\":\"$2\",\"password\":\"walkthrough-pass\"}" | jq -r .id; }
MANAGER=$(mk_user maria manager)
CLIENT=$(mk_user acme client)
OTHER_MANAGER=$(mk_user otto manager)
OTHER_CLIENT=$(mk_user globex client)

# 3. Assign each client to its manager.
api PUT "/api/admin/managers/$MANAGER/clients/$CLIENT" "$ADMIN" >/dev/null
api PUT "/api/admin/managers/$OTHER_MANAGER/clients/$OTHER_CLIENT" "$ADMIN" >/dev/null

# 4. A node template in the library.
api POST /api/templates "$ADMIN" '{
  "name": "text.upper", "title": "Uppercase", "category": "text",
  "code": "def run(inputs, params, ctx):\n    return {\"text\": inputs[\"text\"].upper()}\n",
  "inputs": [{"name": "text", "type": "string", "required": true}],
  "outputs": [{"name": "text", "type": "string"}]
}' | jq -r '"template \(.name) v\(.version)"'

# 5. The manager logs in and saves a valid two-node workflow for their client.
TOKEN=$(curl -sS -X POST "$BASE/api/auth/login" -H 'Content-Type: application/json' \
  --data '{"login":"maria","password":"walkthrough-pass"}' | jq -r .accessToken)
GRAPH='{"nodes": [
   {"id": "a", "template": {"name": "text.upper", "version": 1}, "inputs": {"text": "hello"}},
   {"id": "b", "template": {"name": "text.upper", "version": 1}}],
 "edges": [{"id": "e1", "source": "a", "sourcePort": "text", "target": "b", "targetPort": "text"}]}'
api POST /api/workflows "$TOKEN" "{\"clientId\": $CLIENT, \"name\": \"Shout\", \"graph\": $GRAPH}" \
  | jq -r '"workflow \(.id) revision \(.revision) problems \(.problems | length)"'

# 6. The same request for another manager's client is refused with 404.
EXPECT=404 api POST /api/workflows "$TOKEN" "{\"clientId\": $OTHER_CLIENT, \"name\": \"Nope\"}" \
  | jq -r '"refused: \(.error.code)"'

#!/usr/bin/env bash
# The engine walkthrough of docs/engine.md: a manager runs a three-node workflow
# for their client and watches it live, the client reads the results, and a
# restricted node that tries to open a socket fails with a clear message.
# Usage: BASE=http://127.0.0.1:8080 ADMIN_PASSWORD=... scripts/engine_walkthrough.sh
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
login() { curl -sS -X POST "$BASE/api/auth/login" -H 'Content-Type: application/json' \
  --data "{\"login\":\"$1\",\"password\":\"$2\"}" | jq -r .accessToken; }

# 1. The admin creates a manager and a client and assigns them.
ADMIN=$(login "$ADMIN_LOGIN" "$ADMIN_PASSWORD")
mk_user() { api POST /api/admin/users "$ADMIN" \
  "{\"username\":\"$1\",\"email\":\"$1@example.com\",\"displayName\":\"$1\",\"role\":\"$2\",\"password\":\"walkthrough-pass\"}" | jq -r .id; }
MANAGER=$(mk_user engine-mia manager)
CLIENT=$(mk_user engine-acme client)
api PUT "/api/admin/managers/$MANAGER/clients/$CLIENT" "$ADMIN" >/dev/null

# 2. Three library nodes: trim, uppercase, count.
template() { # NAME CODE OUTPUT_TYPE
  api POST /api/templates "$ADMIN" "{\"name\": \"$1\", \"title\": \"$1\", \"code\": \"$2\",
    \"inputs\": [{\"name\": \"text\", \"type\": \"string\", \"required\": true}],
    \"outputs\": [{\"name\": \"out\", \"type\": \"$3\"}]}" >/dev/null
}
template text.trim "def run(inputs, params, ctx):\n    t = inputs['text'].strip()\n    ctx.log('trimmed %d characters' % (len(inputs['text']) - len(t)))\n    return {'out': t}\n" string
template text.shout "def run(inputs, params, ctx):\n    return {'out': inputs['text'].upper()}\n" string
template text.count "def run(inputs, params, ctx):\n    return {'out': len(inputs['text'])}\n" integer

# 3. The manager saves the workflow for their client and presses Play.
TOKEN=$(login engine-mia walkthrough-pass)
GRAPH='{"nodes": [
   {"id": "trim", "template": {"name": "text.trim", "version": 1}, "inputs": {"text": "  hello world  "}},
   {"id": "shout", "template": {"name": "text.shout", "version": 1}},
   {"id": "count", "template": {"name": "text.count", "version": 1}}],
 "edges": [{"id": "e1", "source": "trim", "sourcePort": "out", "target": "shout", "targetPort": "text"},
           {"id": "e2", "source": "shout", "sourcePort": "out", "target": "count", "targetPort": "text"}]}'
WF=$(api POST /api/workflows "$TOKEN" "{\"clientId\": $CLIENT, \"name\": \"Tidy\", \"graph\": $GRAPH}" | jq -r .id)
RUN=$(api POST "/api/workflows/$WF/runs" "$TOKEN" '{"mode": "async"}' | jq -r .id)

# 4. Watch it live: the SSE stream replays from the start and ends with the run.
curl -sSN "$BASE/api/runs/$RUN/events" -H "Authorization: Bearer $TOKEN" | sed -n 's/^data: //p' \
  | jq -r 'if .fraction then empty elif .level then "log \(.node): \(.message)"
           elif .node then "node \(.node) \(.status)" else "run \(.status)" end'

# 5. The outputs of every node.
api GET "/api/runs/$RUN" "$TOKEN" | jq -r '.nodes[] | "\(.id) \(.status) \(.executions[-1].outputs.out)"'

# 6. The client reads the same run, read-only.
CLIENT_TOKEN=$(login engine-acme walkthrough-pass)
api GET "/api/runs/$RUN" "$CLIENT_TOKEN" | jq -r '"client sees run \(.status), count \(.nodes[2].executions[-1].outputs.out)"'

# 7. A restricted node that opens a socket fails with a clear message.
api POST /api/templates "$ADMIN" '{"name": "net.probe", "title": "probe",
  "code": "import socket\ndef run(inputs, params, ctx):\n    socket.create_connection((\"127.0.0.1\", 3306))\n    return {}\n"}' >/dev/null
PROBE=$(api POST /api/workflows "$TOKEN" "{\"clientId\": $CLIENT, \"name\": \"Probe\",
  \"graph\": {\"nodes\": [{\"id\": \"probe\", \"template\": {\"name\": \"net.probe\", \"version\": 1}}]}}" | jq -r .id)
api POST "/api/workflows/$PROBE/runs" "$TOKEN" '{"mode": "sync"}' \
  | jq -r '.nodes[0] | "probe \(.status) (\(.reason)): \(.message)"'

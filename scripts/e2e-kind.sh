#!/usr/bin/env bash
# The real-cluster test: on a machine with Docker, kind, kubectl, helm, curl
# and jq, creates a kind cluster, builds and loads the three images, installs
# the chart (with a throw-away MySQL), runs a 3-node workflow through the HTTP
# API and asserts the result, the Pods' security settings and `kubectl get runs`;
# then applies examples/workflow.yaml with kubectl, runs it from a kubectl-created
# Run (examples/run.yaml) and deletes it again.
#
#   scripts/e2e-kind.sh            # KEEP_CLUSTER=1 keeps the cluster afterwards
#
# Needs the API server's kubernetes executor mode and run endpoints (see
# docs/kubernetes.md, "Status"); CI on the development machines cannot run it
# (no Docker engine there).
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${KIND_CLUSTER:-katalusis-e2e}
NS=katalusis
ADMIN_PASSWORD=e2e-admin-password
PORT=${E2E_PORT:-18080}
BASE=http://127.0.0.1:$PORT

for tool in docker kind kubectl helm curl jq; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool is required" >&2; exit 2; }
done

cleanup() {
  [[ -n ${PF_PID:-} ]] && kill "$PF_PID" 2>/dev/null || true
  [[ ${KEEP_CLUSTER:-0} == 1 ]] || kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== cluster"
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --config kind-config.yaml --wait 120s
kubectl config use-context "kind-$CLUSTER" >/dev/null

echo "== images"
docker build -q -f runner/Dockerfile -t katalusis/runner:dev .
docker build -q -f operator/Dockerfile -t katalusis/operator:dev .
docker build -q -f api-server/Dockerfile -t katalusis/api:dev .
kind load docker-image --name "$CLUSTER" katalusis/runner:dev katalusis/operator:dev katalusis/api:dev

echo "== chart"
helm lint charts/katalusis --set secrets.databaseUrl=x --set secrets.jwtSecret="$(printf 'j%.0s' {1..40})" --set secrets.secretKey="$(head -c 32 /dev/urandom | base64)"
kubectl get namespace "$NS" >/dev/null 2>&1 || kubectl create namespace "$NS"
kubectl -n "$NS" apply -f - <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: mysql}
spec:
  selector: {matchLabels: {app: mysql}}
  template:
    metadata: {labels: {app: mysql}}
    spec:
      containers:
        - name: mysql
          image: mysql:8.4
          env:
            - {name: MYSQL_ROOT_PASSWORD, value: katalusis}
            - {name: MYSQL_DATABASE, value: katalusis}
          readinessProbe:
            exec: {command: ["mysqladmin", "ping", "-h", "127.0.0.1", "-pkatalusis"]}
---
apiVersion: v1
kind: Service
metadata: {name: mysql}
spec:
  selector: {app: mysql}
  ports: [{port: 3306}]
EOF
kubectl -n "$NS" rollout status deploy/mysql --timeout=300s
helm upgrade --install katalusis charts/katalusis --namespace "$NS" \
  --set images.pullPolicy=Never \
  --set api.executor=kubernetes \
  --set secrets.databaseUrl="mysql://root:katalusis@mysql:3306/katalusis" \
  --set secrets.jwtSecret="$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 48)" \
  --set secrets.secretKey="$(head -c 32 /dev/urandom | base64)" \
  --set api.env.KATALUSIS_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
  --wait --timeout 300s
kubectl get crd runs.katalusis.io workflows.katalusis.io >/dev/null

kubectl -n "$NS" port-forward svc/katalusis-katalusis-api "$PORT:8080" >/dev/null 2>&1 &
PF_PID=$!
for _ in $(seq 1 30); do curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break; sleep 1; done

echo "== workflow"
api() { # METHOD PATH TOKEN [BODY]
  curl -fsS -X "$1" "$BASE$2" -H "Authorization: Bearer $3" -H 'Content-Type: application/json' ${4:+--data "$4"}
}
TOKEN=$(curl -fsS -X POST "$BASE/api/auth/login" -H 'Content-Type: application/json' \
  --data "{\"login\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" | jq -r .accessToken)
CLIENT=$(api POST /api/admin/users "$TOKEN" \
  '{"username":"e2e-client","email":"e2e@example.com","displayName":"E2E","role":"client","password":"e2e-client-pass"}' | jq -r .id)
api POST /api/templates "$TOKEN" '{
  "name": "text.upper", "title": "Uppercase", "category": "text",
  "code": "def run(inputs, params, ctx):\n    return {\"text\": inputs[\"text\"].upper() + \"!\"}\n",
  "inputs": [{"name": "text", "type": "string", "required": true}],
  "outputs": [{"name": "text", "type": "string"}],
  "limits": {"timeoutSeconds": 60, "memoryMib": 128, "cpuMillicores": 250}
}' >/dev/null
GRAPH='{"nodes": [
   {"id": "a", "template": {"name": "text.upper", "version": 1}, "inputs": {"text": "hi"}},
   {"id": "b", "template": {"name": "text.upper", "version": 1}},
   {"id": "c", "template": {"name": "text.upper", "version": 1}}],
 "edges": [{"id": "e1", "source": "a", "sourcePort": "text", "target": "b", "targetPort": "text"},
           {"id": "e2", "source": "b", "sourcePort": "text", "target": "c", "targetPort": "text"}]}'
WF=$(api POST /api/workflows "$TOKEN" "{\"clientId\": $CLIENT, \"name\": \"E2E\", \"graph\": $GRAPH}" | jq -r .id)
# The Workflow mirror is applied right after the save, in the background.
for _ in $(seq 1 15); do kubectl -n "$NS" get workflows.katalusis.io -o name | grep -q . && break; sleep 1; done
kubectl -n "$NS" get workflows.katalusis.io -o name | grep -q . || { echo "e2e: no Workflow resource" >&2; exit 1; }
RUN=$(api POST "/api/workflows/$WF/runs" "$TOKEN" '{}' | jq -r .id)

echo "== run $RUN"
for _ in $(seq 1 120); do
  PHASE=$(api GET "/api/runs/$RUN" "$TOKEN" | jq -r .status)
  [[ $PHASE == succeeded || $PHASE == failed || $PHASE == cancelled ]] && break
  sleep 2
done
kubectl -n "$NS" get runs
[[ $PHASE == succeeded ]] || { echo "e2e: run ended $PHASE" >&2; kubectl -n "$NS" describe runs; exit 1; }
OUT=$(api GET "/api/runs/$RUN" "$TOKEN" | jq -r '.nodes[] | select(.id == "c") | .executions[-1].outputs.text')
[[ $OUT == 'HI!!!' ]] || { echo "e2e: node c returned '$OUT', expected 'HI!!!'" >&2; exit 1; }

echo "== pods"
PODS=$(kubectl -n "$NS" get pods -l app.kubernetes.io/managed-by=katalusis-operator -o json)
[[ $(jq '.items | length' <<<"$PODS") == 3 ]] || { echo "e2e: expected 3 node Pods" >&2; exit 1; }
jq -e '.items | all(.spec.automountServiceAccountToken == false
  and .spec.containers[0].securityContext.readOnlyRootFilesystem == true
  and .spec.containers[0].resources.limits.memory == "128Mi"
  and .spec.activeDeadlineSeconds == 90)' <<<"$PODS" >/dev/null \
  || { echo "e2e: node Pod spec lacks its limits or security settings" >&2; exit 1; }
kubectl -n "$NS" get runs -o jsonpath='{.items[0].status.progress}' | grep -qx '3/3'

echo "== workflows as code"
# A workflow kept in Git, applied with kubectl: adopted, listed by the API,
# runnable from the browser's API and from a Run created with kubectl.
sed 's/katalusis.io\/client: acme/katalusis.io\/client: e2e-client/' examples/workflow.yaml \
  | kubectl -n "$NS" apply -f -
GITWF=""
for _ in $(seq 1 30); do
  GITWF=$(api GET "/api/workflows?perPage=100" "$TOKEN" | jq -r '.items[] | select(.source == "cluster") | .id' | head -1)
  [[ -n $GITWF ]] && break
  sleep 1
done
[[ -n $GITWF ]] || { echo "e2e: the applied Workflow was not adopted" >&2; kubectl -n "$NS" describe workflows.katalusis.io hello-cluster; exit 1; }
kubectl -n "$NS" get kwf
[[ $(kubectl -n "$NS" get kwf hello-cluster -o jsonpath='{.status.conditions[?(@.type=="Valid")].status}') == True ]] \
  || { echo "e2e: hello-cluster is not Valid" >&2; exit 1; }
GITRUN_NAME=$(kubectl -n "$NS" create -f examples/run.yaml -o jsonpath='{.metadata.name}')
GITRUN=""
for _ in $(seq 1 30); do
  GITRUN=$(kubectl -n "$NS" get run "$GITRUN_NAME" -o jsonpath='{.spec.runId}')
  [[ -n $GITRUN && $GITRUN != 0 ]] && break
  sleep 1
done
for _ in $(seq 1 120); do
  PHASE=$(api GET "/api/runs/$GITRUN" "$TOKEN" | jq -r .status)
  [[ $PHASE == succeeded || $PHASE == failed || $PHASE == cancelled ]] && break
  sleep 2
done
[[ $PHASE == succeeded ]] || { echo "e2e: the kubectl-created run ended $PHASE" >&2; kubectl -n "$NS" describe run "$GITRUN_NAME"; exit 1; }
COUNT=$(api GET "/api/runs/$GITRUN" "$TOKEN" | jq -r '.nodes[] | select(.id == "words") | .executions[-1].outputs.count')
[[ $COUNT == 2 ]] || { echo "e2e: node words counted '$COUNT', expected 2" >&2; exit 1; }
kubectl -n "$NS" delete kwf hello-cluster
for _ in $(seq 1 30); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/workflows/$GITWF" -H "Authorization: Bearer $TOKEN") == 404 ]] && break
  sleep 1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/workflows/$GITWF" -H "Authorization: Bearer $TOKEN") == 404 ]] \
  || { echo "e2e: deleting the Workflow did not archive it" >&2; exit 1; }

echo "== network policies"
# Pods labelled like node Pods, running the runner image: a restricted one must
# not open a connection to anything but DNS and the ingest endpoint (here the
# in-cluster MySQL, the Kubernetes API and a public address), and a trusted one
# must not reach the MySQL Service or the Kubernetes API (private ranges).
PROBE='import socket, sys
ok = []
for host, port in [(h.split(":")[0], int(h.split(":")[1])) for h in sys.argv[1:]]:
    try:
        socket.create_connection((host, port), timeout=5).close()
        ok.append(f"{host}:{port}")
    except OSError:
        pass
print("connected:", ok)
sys.exit(1 if ok else 0)'
probe_pod() { # NAME TRUST TARGET...
  local name=$1 trust=$2; shift 2
  kubectl -n "$NS" delete pod "$name" --ignore-not-found >/dev/null
  kubectl -n "$NS" run "$name" --image=katalusis/runner:dev --image-pull-policy=Never --restart=Never \
    --labels="app.kubernetes.io/managed-by=katalusis-operator,katalusis.io/trust=$trust" \
    --command -- python3 -c "$PROBE" "$@" >/dev/null
  kubectl -n "$NS" wait pod "$name" --for=jsonpath='{.status.phase}'=Succeeded --timeout=90s \
    || { echo "e2e: a $trust Pod opened a connection it must not:" >&2; kubectl -n "$NS" logs "$name" >&2; exit 1; }
  kubectl -n "$NS" delete pod "$name" >/dev/null
}
probe_pod e2e-restricted-probe restricted mysql:3306 kubernetes.default:443 1.1.1.1:443
probe_pod e2e-trusted-probe trusted mysql:3306 kubernetes.default:443
echo "e2e: OK"

#!/usr/bin/env bash
# Runs inside the kind-bootstrap compose service (host Docker socket mounted,
# repository at /src, shared kubeconfig volume at /kube). Idempotent: a second
# `docker compose up` reuses the cluster and upgrades the release.
set -euo pipefail
CLUSTER=${KIND_CLUSTER:-katalusis}
NS=${KATALUSIS_NAMESPACE:-katalusis}

if ! kind get clusters | grep -qx "$CLUSTER"; then
  kind create cluster --name "$CLUSTER" --config /src/kind-config.yaml --wait 120s
fi
kind load docker-image --name "$CLUSTER" katalusis/runner:dev katalusis/operator:dev

# Kubeconfig for containers on the `kind` Docker network (the API server).
mkdir -p /kube
kind get kubeconfig --name "$CLUSTER" --internal > /kube/config
chmod 0644 /kube/config
export KUBECONFIG=/kube/config

kubectl get namespace "$NS" >/dev/null 2>&1 || kubectl create namespace "$NS"
# The API server runs in compose, outside the cluster: install only the CRDs
# and the operator, pointing node Pods at the compose API server for ingest.
# NetworkPolicies stay on (kind's default CNI enforces them since v0.24); the
# compose API server's address on the kind network is their ingest exception.
INGEST_IP=$(getent hosts katalusis-api | awk '{print $1; exit}')
[[ -n $INGEST_IP ]] || { echo "bootstrap: cannot resolve katalusis-api on the kind network" >&2; exit 1; }
helm upgrade --install katalusis /src/charts/katalusis --namespace "$NS" \
  --set api.enabled=false \
  --set images.pullPolicy=Never \
  --set networkPolicies.enabled=true \
  --set "networkPolicies.externalIngest.cidrs={$INGEST_IP/32}" \
  --set networkPolicies.externalIngest.port=8080 \
  --wait --timeout 180s
kubectl -n "$NS" set env deploy/katalusis-katalusis-operator \
  KATALUSIS_INGEST_URL=http://katalusis-api:8080/internal
kubectl -n "$NS" rollout status deploy/katalusis-katalusis-operator --timeout=120s
echo "kind cluster $CLUSTER ready; kubeconfig in the shared volume"

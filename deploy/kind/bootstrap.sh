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
helm upgrade --install katalusis /src/charts/katalusis --namespace "$NS" \
  --set api.enabled=false \
  --set images.pullPolicy=Never \
  --set networkPolicies.enabled=false \
  --wait --timeout 180s
kubectl -n "$NS" set env deploy/katalusis-katalusis-operator \
  KATALUSIS_INGEST_URL=http://katalusis-api:8080/internal
kubectl -n "$NS" rollout status deploy/katalusis-katalusis-operator --timeout=120s
echo "kind cluster $CLUSTER ready; kubeconfig in the shared volume"

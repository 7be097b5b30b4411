#!/usr/bin/env bash
# Rotor on a laptop cluster in one command: bash deploy/overlays/dev/up.sh [kind|minikube]
# Builds Rotor's image with docker, loads it into the cluster (no registry), then runs the
# first-install steps of docs/operations.md with deploy/overlays/dev in place of deploy/.
# Safe to run again: existing Secrets are kept, a finished configure job is left alone.
# Not run by this project's tests (their machine has no container engine); the steps are the
# first install's, which testbed/test/cluster.int.test.ts runs as written.
set -euo pipefail
cd "$(dirname "$0")/../../.."
cluster=${1:-kind}
image=ghcr.io/rotor-dev/rotor:0.1.0

docker build -t "$image" .
case $cluster in
  kind) kind load docker-image "$image" ;;
  minikube) minikube image load "$image" ;;
  *) echo "usage: $0 [kind|minikube]" >&2; exit 2 ;;
esac

kubectl apply -f deploy/base/namespaces.yaml
kubectl -n vault get secret vault-unseal-envelope-key >/dev/null 2>&1 ||
  kubectl -n vault create secret generic vault-unseal-envelope-key --from-literal=key="$(openssl rand -base64 32)"
kubectl -n db get secret postgres-superuser >/dev/null 2>&1 ||
  kubectl -n db create secret generic postgres-superuser --from-literal=password="$(openssl rand -base64 24)"
if ! kubectl -n db get secret postgres-bootstrap >/dev/null 2>&1; then
  PG_BOOTSTRAP="$(openssl rand -base64 24)"
  kubectl -n db create secret generic postgres-bootstrap --from-literal=password="$PG_BOOTSTRAP"
  kubectl -n vault create secret generic postgres-bootstrap --from-literal=password="$PG_BOOTSTRAP"
  unset PG_BOOTSTRAP
fi
# Vault's TLS certificate from the deployment's own CA (docs/operations.md, step "tls").
if ! kubectl -n vault get secret vault-tls >/dev/null 2>&1; then
  ca="${ROTOR_CA_DIR:-$HOME/rotor-ca}"
  out="$(mktemp -d)"
  npx rotor tls issue --ca-dir "$ca" --name vault --out "$out" \
    --dns vault-active.vault.svc,vault-standby.vault.svc,vault.vault.svc,vault-internal.vault.svc,'*.vault-internal.vault.svc' \
    --dns vault-0.vault-internal.vault.svc,vault-1.vault-internal.vault.svc,vault-2.vault-internal.vault.svc,localhost --ip 127.0.0.1
  kubectl -n vault create secret generic vault-tls --type=kubernetes.io/tls \
    --from-file=tls.crt="$out/vault.crt" --from-file=tls.key="$out/vault.key" --from-file=ca.crt="$ca/ca.crt"
  for ns in app monitoring; do kubectl -n "$ns" create secret generic vault-ca --from-file=ca.crt="$ca/ca.crt"; done
  rm -r "$out"
fi
# PostgreSQL's, from the same CA (the same step): it serves TLS only, and every client verifies it.
if ! kubectl -n db get secret postgres-tls >/dev/null 2>&1; then
  ca="${ROTOR_CA_DIR:-$HOME/rotor-ca}"
  out="$(mktemp -d)"
  npx rotor tls issue --ca-dir "$ca" --name postgres --out "$out" --dns postgres.db.svc,postgres.db.svc.cluster.local
  kubectl -n db create secret generic postgres-tls --type=kubernetes.io/tls \
    --from-file=tls.crt="$out/postgres.crt" --from-file=tls.key="$out/postgres.key" --from-file=ca.crt="$ca/ca.crt"
  rm -r "$out"
fi
kubectl apply -k deploy/overlays/dev
kubectl -n vault wait --for=condition=Ready pod -l app.kubernetes.io/name=vault,component=server --timeout=600s
kubectl -n db wait --for=condition=Ready pod -l app.kubernetes.io/name=postgres --timeout=300s
kubectl -n db wait --for=condition=complete job/db-admin --timeout=300s
# The configure job logs in as its own service account (role rotor-configure): no token to hand it.
kubectl -n vault wait --for=condition=complete job/vault-configure --timeout=600s
kubectl -n app rollout status deploy/users-api --timeout=600s
kubectl -n app rollout status deploy/users-admin-api --timeout=600s
echo "Rotor is up. Try: kubectl -n app port-forward svc/users-api 8080:8080 & curl -s localhost:8080/users"

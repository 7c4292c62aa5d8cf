#!/usr/bin/env bash
# `make compose-test`: the container deployment, for real. Installs podman and podman-compose if missing, makes
# the base image locally if no registry answers, builds every executable on the host (scripts/build-release.sh)
# and packages them (compose/Dockerfile.runtime), makes the secrets and bus keys (the keys through the image),
# brings compose.yaml up with the sandbox profile and checks through the published ports what `make run` shows:
# the Connected line, customers, a backup-job-failure alert, a ConnectWise ticket in the PSA sandbox, the console,
# every container healthy, each service mounting only its secrets, and a keyless peer refused by the bus.
# Then the sharded override (two backups replicas). Everything is taken down (`down -v`) at the end, pass or fail.
# First of all, the Kubernetes manifests are rendered and validated (scripts/k8s-validate.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$(date +%s)
step() { echo "== [$(( $(date +%s) - started )) s] $*"; }
fail() { echo "compose-test FAILED: $*" >&2; exit 1; }

step "Kubernetes manifests: rendered and validated offline"
scripts/k8s-validate.sh

step "containers: podman, podman-compose"
scripts/install-containers.sh
compose=("$root/.build/venv-compose/bin/podman-compose" -f "$root/compose/compose.yaml")
scripts/seed-base-image.sh

step "executables (release, static Swift runtime)"
scripts/build-release.sh .build/dist/bin
rm -rf .build/dist/console && cp -r Services/Console/ConsoleService/Web .build/dist/console

step "image"
podman build -q -f compose/Dockerfile.runtime -t localhost/vectis:latest .build/dist >/dev/null
podman tag localhost/vectis:latest vectis:latest
# The image the tag moved from (and a refused build's layers) would stay as untagged images, ≈ 1.2 GB per run.
prune_images() { podman image prune -f --filter label=io.vectis.image=runtime >/dev/null 2>&1 || true; }
prune_images
for product in vectis-bus vectis-collector vectis-assets vectis-backups vectis-alerts vectis-rules vectis-console vectis vectis-sandbox; do
  podman run --rm vectis:latest test -x "/usr/local/bin/$product" || fail "the image has no $product"
done
# And an image missing one executable must not build at all.
rm -rf .build/dist-broken && cp -r .build/dist .build/dist-broken && rm .build/dist-broken/bin/vectis-rules
if podman build -q -f compose/Dockerfile.runtime -t localhost/vectis-broken .build/dist-broken >/dev/null 2>&1; then
  fail "an image without vectis-rules was built"
fi
rm -rf .build/dist-broken
prune_images
echo "an image missing vectis-rules is refused at build"
size=$(podman image inspect vectis:latest --format '{{.Size}}')
echo "image: $(( size / 1048576 )) MiB"

step "secrets and bus keys (keys made by the image)"
rm -rf compose/secrets compose/.env
compose/make-secrets.sh >/dev/null
compose/make-bus-keys.sh --image vectis:latest
export VECTIS_ADMIN_TOKEN=$(cat compose/secrets/admin_token)
export VECTIS_READ_TOKEN=$(cat compose/secrets/read_token)
cli=$root/.build/dist/bin/vectis

cleanup() {
  step "down -v"
  (cd compose && "${compose[@]}" --profile sandbox -f "$root/compose/compose.shards.yaml" down -v >/dev/null 2>&1) || true
  (cd compose && "${compose[@]}" --profile sandbox down -v >/dev/null 2>&1) || true
}
trap cleanup EXIT

wait_for() {  # wait_for NAME URL [seconds]
  for _ in $(seq 1 "${3:-120}"); do curl -sf "$2" >/dev/null 2>&1 && return 0; sleep 1; done
  fail "$1 did not answer $2"
}

# podman runs no healthcheck by itself here (no systemd timers): run each once, and fail if any is unhealthy.
check_health() {
  for container in $(podman ps --filter label=io.podman.compose.project=vectis --format '{{.Names}}'); do
    if podman inspect "$container" --format '{{if .Config.Healthcheck}}yes{{end}}' | grep -q yes; then
      for attempt in $(seq 1 30); do
        podman healthcheck run "$container" >/dev/null 2>&1 && break
        [ "$attempt" = 30 ] && fail "$container is not healthy"
        sleep 1
      done
      echo "healthy: $container"
    fi
  done
}

step "compose up (sandbox profile)"
# A run that was interrupted may have left its containers: start from nothing.
(cd compose && "${compose[@]}" --profile sandbox -f "$root/compose/compose.shards.yaml" down -v >/dev/null 2>&1) || true
(cd compose && "${compose[@]}" --profile sandbox up -d >/dev/null)
for port in 8080 8081 8082 8083 8084 8085 8090 9081 9082; do wait_for "port $port" "http://127.0.0.1:$port/healthz"; done
for port in 8081 8082 8083 8084 8085; do wait_for "port $port ready" "http://127.0.0.1:$port/readyz"; done
check_health

step "each service mounts only its secrets"
expect_secrets() {  # expect_secrets SERVICE "sorted names"
  local got
  got=$(podman exec "vectis_$1_1" ls /run/secrets | sort | tr '\n' ' ' | sed 's/ $//')
  [ "$got" = "$2" ] || fail "$1 mounts [$got], expected [$2]"
}
expect_secrets collector "admin_token collector_bus_key collector_secret_key read_token"
expect_secrets assets "admin_token assets_bus_key read_token"
expect_secrets backups "admin_token backups_bus_key read_token"
expect_secrets alerts "admin_token alerts_bus_key read_token"
expect_secrets rules "admin_token read_token rules_bus_key rules_secret_key"
[ "$(podman exec vectis_rules_1 id -u)" = 10001 ] || fail "rules does not run as uid 10001"

step "Datto: configure, test, sync"
echo "sandbox-secret-7c4f1e9a2b" | "$cli" datto configure --public-key sandbox-public-key --region us --secret-key-stdin
connected=$("$cli" datto test)
echo "$connected"
echo "$connected" | grep -qE '^Connected to Datto \(us\) — [0-9]+ BCDR devices visible' || fail "no Connected line"
"$cli" datto sync --wait >/dev/null
for _ in $(seq 1 60); do
  customers=$(curl -sf -H "Authorization: Bearer $VECTIS_READ_TOKEN" http://127.0.0.1:8082/v1/customers || true)
  echo "$customers" | grep -q '"Acme Corp"' && break
  sleep 1
done
echo "$customers" | grep -q '"Acme Corp"' || fail "assets lists no customers"
[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8082/v1/customers)" = 401 ] || fail "customers readable without a token"
for _ in $(seq 1 60); do
  curl -sf -H "Authorization: Bearer $VECTIS_READ_TOKEN" http://127.0.0.1:8084/v1/alerts | grep -q '"backup-job-failure"' && break
  sleep 1
done
curl -sf -H "Authorization: Bearer $VECTIS_READ_TOKEN" http://127.0.0.1:8084/v1/alerts | grep -q '"backup-job-failure"' \
  || fail "no backup-job-failure alert"
"$cli" hub "Acme Corp" | head -3

step "rules: a ConnectWise ticket in the PSA sandbox"
echo '{"privateKey": "cw-private-9f2c", "clientId": "6c1b4e2a-0d7f-4f1e-9a51-0c5e7d2f3b11"}' | "$cli" rules enable \
  datto-fails-2-nights-connectwise --dry-run-hours 0 --secrets-stdin \
  --settings '{"site": "http://sandbox-psa:9082/cw", "companyId": "vectis", "publicKey": "cw-public", "boardId": 1, "closedStatusId": 20}'
acme=$(echo "$customers" | python3 -c 'import json,sys; print([c["id"] for c in json.load(sys.stdin)["customers"] if c["name"] == "Acme Corp"][0])')
"$cli" rules map connectwise "$acme" 250
curl -sf -X POST http://127.0.0.1:9081/_sandbox/clock/advance -H 'Content-Type: application/json' -d '{"hours": 24}' >/dev/null
"$cli" datto sync --wait >/dev/null
for _ in $(seq 1 60); do
  curl -sf http://127.0.0.1:9082/_sandbox/tickets | grep -q '"connectwise"' && break
  sleep 1
done
curl -sf http://127.0.0.1:9082/_sandbox/tickets | grep -q '"connectwise"' || fail "no ConnectWise ticket"
"$cli" tickets | head -3

step "console"
headers=$(curl -sf -D - -o /dev/null http://127.0.0.1:8090/)
echo "$headers" | grep -qi '^content-security-policy:' || fail "the console answered without its CSP"

step "a keyless peer gets nothing from the bus's tap"
python3 - <<'PY' || fail "a keyless peer read the tap"
import zmq, time
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"")
sub.setsockopt(zmq.RCVTIMEO, 3000)
sub.connect("tcp://127.0.0.1:5552")
try:
    sub.recv_multipart()
    raise SystemExit(1)
except zmq.Again:
    print("refused: nothing received in 3 s without a key")
PY
check_health

step "sharded: two backups replicas, each with only its tenants"
(cd compose && "${compose[@]}" --profile sandbox down -v >/dev/null)
(cd compose && "${compose[@]}" -f "$root/compose/compose.shards.yaml" --profile sandbox up -d >/dev/null)
for port in 8081 8082 8083 8086 8084 8085; do wait_for "port $port ready" "http://127.0.0.1:$port/readyz"; done
# Two partner accounts (tenants): "default" lands on replica 1, "msp-c" on replica 2 (scripts/check-shards.py).
for tenant in default msp-c; do
  echo "sandbox-secret-7c4f1e9a2b" | "$cli" datto configure --tenant "$tenant" --public-key sandbox-public-key --region us \
    --secret-key-stdin >/dev/null
  "$cli" datto sync --wait --tenant "$tenant" >/dev/null
done
for _ in $(seq 1 60); do python3 scripts/check-shards.py >/dev/null 2>&1 && break; sleep 1; done
python3 scripts/check-shards.py || fail "the shards do not split the customers"
check_health

step "passed in $(( $(date +%s) - started )) s"

#!/usr/bin/env bash
# Renders deploy/kubernetes (the base and the sharded overlay) with kustomize and validates every resource offline
# against the Kubernetes schemas (kubernetes-validate from PyPI, strict: unknown fields refused), then checks what
# the schemas cannot: probes on /healthz and /readyz, one volume per SQLite writer, each service mounting only its
# secrets, and the overlay's shards taken from the pod ordinal.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi
}
if ! command -v kubectl >/dev/null; then
  echo "installing: kubectl (kustomize is built in)"
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null 2>&1 \
    || sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null
fi
venv=.build/venv-k8s
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  echo "installing: kubernetes-validate (PyPI, in $venv)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet kubernetes-validate
fi
out=.build/kubernetes
mkdir -p "$out"
kubectl kustomize deploy/kubernetes/base > "$out/base.yaml"
kubectl kustomize deploy/kubernetes/overlays/sharded > "$out/sharded.yaml"
"$venv/bin/kubernetes-validate" --strict --quiet -k 1.30.0 "$out/base.yaml" "$out/sharded.yaml"
"$venv/bin/python" - "$out/base.yaml" "$out/sharded.yaml" <<'PY'
import sys, yaml
expected_secrets = {
    "collector": {"admin_token", "read_token", "collector_bus_key", "collector_secret_key"},
    "assets": {"admin_token", "read_token", "assets_bus_key"},
    "backups": {"admin_token", "read_token", "backups_bus_key"},
    "alerts": {"admin_token", "read_token", "alerts_bus_key"},
    "rules": {"admin_token", "read_token", "rules_bus_key", "rules_secret_key"},
}
def check(path, sharded):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    sets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "StatefulSet"}
    assert set(sets) == set(expected_secrets), f"{path}: StatefulSets {sorted(sets)}"
    for name, item in sets.items():
        pod = item["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert [t["metadata"]["name"] for t in item["spec"]["volumeClaimTemplates"]] == ["data"], name
        assert pod["securityContext"]["runAsUser"] == 10001, name
        mounted = {i["path"] for v in pod["volumes"] if "projected" in v for s in v["projected"]["sources"] for i in s["secret"]["items"]}
        assert mounted == expected_secrets[name], f"{name} mounts {sorted(mounted)}"
        env = {e["name"]: e.get("value") for e in container["env"]}
        replicas = item["spec"]["replicas"]
        if sharded and name == "backups":
            assert replicas == 2 and env.get("VECTIS_SHARD") == "ordinal/2", f"backups: {replicas} replicas, shard {env.get('VECTIS_SHARD')}"
        else:
            assert replicas == 1 and "VECTIS_SHARD" not in env, f"{name}: {replicas} replicas"
    print(f"{path}: {len(docs)} resources valid; probes, volumes, secrets and shards as intended")
check(sys.argv[1], False)
check(sys.argv[2], True)
PY

#!/usr/bin/env bash
# Runs what exists of the system locally, on loopback, with embedded defaults:
# vectis-bus, both sandboxes and the five services; configures the Datto integration against the sandbox,
# runs Test and a first sync, prints a customer's Backups section and the alerts raised, enables the ConnectWise
# template against the PSA sandbox and shows the ticket it opens, then shows the bus traffic in a tap.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
# --fast: the Datto sandbox's clock runs a day a minute and the collector polls every 10 s, so failing nights
# (and the ticket they cause) happen while you watch instead of over two days.
# --fresh: start from an empty data directory (otherwise a second run keeps the first one's data and says so).
fast=false
fresh=false
for argument in "$@"; do
  case "$argument" in
    --fast) fast=true ;;
    --fresh) fresh=true ;;
    *) echo "unknown option $argument (use --fast and/or --fresh)"; exit 2 ;;
  esac
done
bin=.build/debug
state=.vectis
$fresh && rm -rf "$state/data"
earlier_run=false
[ -f "$state/data/rules.sqlite" ] && earlier_run=true
mkdir -p "$state/logs" "$state/data"

children=()
names=()
# Ask everything to stop (SIGTERM: each service drains its outbox and closes its sockets), give them 10 s as
# `docker stop` does, then name and SIGKILL whatever is still running rather than leave it behind.
cleanup() {
  trap - INT TERM EXIT
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    running=false
    for pid in "${children[@]}"; do kill -0 "$pid" 2>/dev/null && running=true; done
    $running || break
    sleep 0.1
  done
  for i in "${!children[@]}"; do
    if kill -0 "${children[$i]}" 2>/dev/null; then
      log="$state/logs/${names[$i]}.log"
      echo "${names[$i]} did not stop within 10 s of SIGTERM; killing it$([ -f "$log" ] && echo " (see $log)")"
      kill -KILL "${children[$i]}" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  echo "stopped."
}
trap cleanup INT TERM EXIT

wait_ready() { # name url
  for _ in $(seq 1 150); do curl -sf "$2" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "$1 did not start; see $state/logs/$1.log"; exit 1
}

export VECTIS_DATA_DIR="$state/data"
# The bus is authenticated (CURVE): a key pair per service, one for taps and the CLI, and the allow-list, made
# once in the data directory (folder 0700, secrets 0600); every process finds them in $VECTIS_DATA_DIR/bus-keys.
"$bin/vectis" keys init --dir "$state/data/bus-keys"
new_token=false
[ -f "$state/data/admin-token" ] || new_token=true
sandbox_clock=(--real-time)
if $fast; then
  sandbox_clock=(--real-time --speed 1440)
  # Four sandbox hours: every 10 s of real time (the collector keeps Datto's time, see VECTIS_CLOCK_URL below).
  export VECTIS_DATTO_POLL_INTERVAL_SECONDS=14400
fi
# The sandbox's clock is moved on below (or runs a day a minute): the collector's polling plan and the silence
# check follow it, not the wall clock.
export VECTIS_CLOCK_URL=http://127.0.0.1:9081/_sandbox/state
# The PSA sandbox and any local retry hook are on loopback, which outbound calls refuse by default.
export VECTIS_ALLOW_PRIVATE_UPSTREAMS=1
export VECTIS_DATTO_BASE_URL_US=http://127.0.0.1:9081/v1
export VECTIS_DATTO_BASE_URL_EU=http://127.0.0.1:9081/eu/v1

"$bin/vectis-bus" >"$state/logs/bus.log" 2>&1 & children+=($!); names+=(bus)
wait_ready bus http://127.0.0.1:8080/readyz
"$bin/vectis-sandbox" datto --port 9081 "${sandbox_clock[@]}" >"$state/logs/sandbox-datto.log" 2>&1 & children+=($!); names+=(sandbox-datto)
wait_ready sandbox-datto http://127.0.0.1:9081/healthz
"$bin/vectis-collector" >"$state/logs/collector.log" 2>&1 & children+=($!); names+=(collector)
wait_ready collector http://127.0.0.1:8081/readyz
if $new_token; then
  echo "Admin token (shown once; kept in $state/data/admin-token, which vectis reads): $(cat "$state/data/admin-token")"
fi
"$bin/vectis-assets" >"$state/logs/assets.log" 2>&1 & children+=($!); names+=(assets)
wait_ready assets http://127.0.0.1:8082/readyz
"$bin/vectis-backups" >"$state/logs/backups.log" 2>&1 & children+=($!); names+=(backups)
wait_ready backups http://127.0.0.1:8083/readyz
"$bin/vectis-alerts" >"$state/logs/alerts.log" 2>&1 & children+=($!); names+=(alerts)
wait_ready alerts http://127.0.0.1:8084/readyz
"$bin/vectis-sandbox" psa --port 9082 >"$state/logs/sandbox-psa.log" 2>&1 & children+=($!); names+=(sandbox-psa)
wait_ready sandbox-psa http://127.0.0.1:9082/healthz
"$bin/vectis-rules" >"$state/logs/rules.log" 2>&1 & children+=($!); names+=(rules)
wait_ready rules http://127.0.0.1:8085/readyz
"$bin/vectis-console" >"$state/logs/console.log" 2>&1 & children+=($!); names+=(console)
wait_ready console http://127.0.0.1:8090/healthz

# The sandbox's working key pair (docs/datto-sandbox.md); the secret goes in on stdin, never as an argument.
echo "sandbox-secret-7c4f1e9a2b" | "$bin/vectis" datto configure --public-key sandbox-public-key --region us --secret-key-stdin
"$bin/vectis" datto test
"$bin/vectis" datto sync --wait
sleep 2  # let assets and backups apply the first sync
echo
"$bin/vectis" customers
echo
"$bin/vectis" hub "Acme Corp"
echo
echo "Alerts raised:"
"$bin/vectis" alerts --state open,acknowledged,muted

# Enable the ConnectWise template against the PSA sandbox (live at once here; new rules default to a dry run),
# map Acme Corp to ConnectWise company 250, and let another night fail: the rule opens one ticket.
echo
# Idempotent: a live ConnectWise rule from an earlier run on this data directory is reused, not enabled again.
existing=$(curl -s -H "Authorization: Bearer $(cat "$state/data/admin-token")" http://127.0.0.1:8085/v1/rules | python3 -c '
import json, sys
rules = [r for r in json.load(sys.stdin).get("rules", []) if r.get("templateId") == "datto-fails-2-nights-connectwise" and r.get("enabled")]
print(rules[0]["id"] if rules else "")')
if [ -n "$existing" ]; then
  echo "Reusing $existing (ConnectWise) from an earlier run on $state/data; \`make run ARGS=--fresh\` starts clean."
else
echo '{"privateKey": "cw-private-9f2c", "clientId": "6c1b4e2a-0d7f-4f1e-9a51-0c5e7d2f3b11"}' | "$bin/vectis" rules enable \
  datto-fails-2-nights-connectwise --dry-run-hours 0 --secrets-stdin \
  --settings '{"site": "http://127.0.0.1:9082/cw", "companyId": "vectis", "publicKey": "cw-public", "boardId": 1, "closedStatusId": 20}'
fi
acme=$(curl -s -H "Authorization: Bearer $(cat "$state/data/read-token")" http://127.0.0.1:8082/v1/customers | python3 -c 'import json,sys; print([c["id"] for c in json.load(sys.stdin)["customers"] if c["name"] == "Acme Corp"][0])')
"$bin/vectis" rules map connectwise "$acme" 250
if $fast; then
  echo "Waiting for the next failed night (a day a minute)…"
  for _ in $(seq 1 90); do
    "$bin/vectis" tickets 2>/dev/null | grep -q connectwise && break
    sleep 1
  done
else
  # Without --fast, move the sandbox a night ahead by hand.
  curl -s -X POST http://127.0.0.1:9081/_sandbox/clock/advance -H 'Content-Type: application/json' -d '{"hours": 24}' >/dev/null
  "$bin/vectis" datto sync --wait >/dev/null
  for _ in $(seq 1 30); do
    "$bin/vectis" tickets 2>/dev/null | grep -q connectwise && break
    sleep 0.5
  done
fi
echo
if $earlier_run; then
  echo "Tickets (this data directory holds an earlier run's tickets too; the PSA sandbox restarted empty):"
else
  echo "Tickets opened:"
fi
"$bin/vectis" tickets

cat <<TXT

Running (logs in $state/logs, data in $state/data, admin token in $state/data/admin-token, read-only token in
$state/data/read-token — every read of customer data needs one of them):
  vectis-bus         tcp://127.0.0.1:5550 (publish) 5551 (subscribe) 5552 (tap), CURVE-authenticated (keys in $state/data/bus-keys)
                     http://127.0.0.1:8080/metrics
  Datto sandbox      http://127.0.0.1:9081/v1   (emulation; scenario controls under /_sandbox)
  vectis-collector   http://127.0.0.1:8081/healthz  /readyz  /metrics  /v1/integrations/datto
  vectis-assets      http://127.0.0.1:8082/v1/customers
  vectis-backups     http://127.0.0.1:8083/v1/customers/{id}/backups  /v1/agents/{id}/runs
  vectis-alerts      http://127.0.0.1:8084/v1/alerts
  vectis-rules       http://127.0.0.1:8085/v1/rule-templates  /v1/rules  /v1/tickets
  vectis-console     http://127.0.0.1:8090/   (the web console; sign in with the admin token)
  PSA sandbox        http://127.0.0.1:9082/_sandbox/tickets   (ConnectWise /cw, Autotask /at, HaloPSA /halo)
Try: $bin/vectis hub Globex  |  $bin/vectis rules history ru_1  |  $bin/vectis tap --json | jq .
Live bus traffic follows (heartbeats every 5 s; Ctrl-C stops everything):
TXT
"$bin/vectis" tap --topic collector. --topic service. --topic datto.device. &
children+=($!); names+=(tap)
wait "${children[0]}"

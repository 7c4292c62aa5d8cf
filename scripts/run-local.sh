#!/usr/bin/env bash
# Runs the system locally on loopback: today that is vectis-bus and a tap showing its traffic.
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/debug
mkdir -p .vectis/logs

children=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "stopped."
}
trap cleanup INT TERM EXIT

"$bin/vectis-bus" >.vectis/logs/bus.log 2>&1 &
children+=($!)
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:8080/readyz >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf http://127.0.0.1:8080/readyz >/dev/null || { echo "vectis-bus did not start; see .vectis/logs/bus.log"; exit 1; }

cat <<TXT
vectis-bus is running (log: .vectis/logs/bus.log)
  publish   tcp://127.0.0.1:5550   services connect their PUB sockets here
  subscribe tcp://127.0.0.1:5551   services connect their SUB sockets here
  tap       tcp://127.0.0.1:5552   read-only copy of every message
  http      http://127.0.0.1:8080/healthz  /readyz  /metrics

Sending 5 sample backup runs through the bus so the tap below has something to show;
in another terminal, '$bin/vectis tap --json' shows the same traffic as JSON lines.
TXT

( sleep 1; "$bin/vectis-probe" publish --count 5 --stream demo/run-local >/dev/null 2>&1 ) &
children+=($!)
"$bin/vectis" tap &
children+=($!)
wait "${children[0]}"

#!/usr/bin/env bash
# CURVE keys for the bus: one pair for the bus, one per service and one for the operator's tap, and the
# allow-list of client public keys, in compose/secrets/bus/; compose/.env gets the bus's public key.
# Existing keys are kept.
#   compose/make-bus-keys.sh                  uses the vectis CLI (VECTIS=path, default ../.build/debug/vectis)
#   compose/make-bus-keys.sh --image vectis   runs `vectis keys init` inside the image (podman, or ENGINE=docker)
set -euo pipefail
cd "$(dirname "$0")"
out=secrets/bus
mkdir -p "$out"
chmod 0700 secrets "$out"
if [ "${1:-}" = "--image" ]; then
  "${ENGINE:-podman}" run --rm --user 0 -v "$PWD/$out:/out" "${2:?--image needs an image name}" vectis keys init --dir /out >/dev/null
else
  "${VECTIS:-../.build/debug/vectis}" keys init --dir "$out" >/dev/null
fi
chmod 0700 "$out"
# Readable by the image's user (uid 10001) once mounted; the 0700 folders keep them yours on the host.
chmod 0644 "$out"/*
echo "VECTIS_BUS_SERVER_KEY=$(cat "$out/bus.public")" > .env
echo "bus keys in $(pwd)/$out; bus public key in compose/.env"

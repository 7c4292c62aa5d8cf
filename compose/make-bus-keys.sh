#!/usr/bin/env bash
# CURVE keys for the bus: one pair for the bus, one per service and one for the operator's tap. Writes them to
# compose/secrets/bus/, the allow-list of client public keys, and compose/.env with the bus's public key.
# Needs the vectis CLI (swift build) or the image: docker run --rm -v "$PWD/compose/secrets:/out" vectis vectis keys …
set -euo pipefail
cd "$(dirname "$0")"
vectis=${VECTIS:-../.build/debug/vectis}
out=secrets/bus
mkdir -p "$out"
chmod 0700 secrets "$out"
[ -s "$out/bus.secret" ] || "$vectis" keys generate --name bus --out "$out" >/dev/null
: > "$out/allowed_keys"
for client in collector assets backups alerts rules tap; do
  [ -s "$out/$client.secret" ] || "$vectis" keys generate --name "$client" --out "$out" >/dev/null
  echo "$(cat "$out/$client.public") $client" >> "$out/allowed_keys"
done
# Readable by the image's user (uid 10001) once mounted; the 0700 folders keep them yours on the host.
chmod 0644 "$out"/*
echo "VECTIS_BUS_SERVER_KEY=$(cat "$out/bus.public")" > .env
echo "bus keys in $(pwd)/$out; bus public key in compose/.env"

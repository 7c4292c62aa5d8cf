#!/usr/bin/env bash
# Makes debian:bookworm-slim available to podman without a registry: if it is not there already, builds a
# minimal Debian bookworm root with debootstrap from the Debian mirror apt already uses, and imports it under that
# name, so `FROM debian:bookworm-slim` resolves locally and nothing is pulled.
set -euo pipefail
image=docker.io/library/debian:bookworm-slim
if podman image exists "$image"; then echo "$image is there"; exit 0; fi
# Try the registry first (fast where one is reachable), then build it.
if timeout 20 podman pull -q "$image" >/dev/null 2>&1; then echo "pulled $image"; exit 0; fi
mirror=$(grep -rhoE '^(deb|URIs:)[^#]*https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
  | grep -oE 'https?://[^ ]+/debian/?$' | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
root=$(mktemp -d /tmp/vectis-bookworm.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
tar -C "$root" -c . | podman import --change 'CMD ["bash"]' - "$image" >/dev/null
echo "imported $image"

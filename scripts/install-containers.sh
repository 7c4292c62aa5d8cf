#!/usr/bin/env bash
# Installs and configures what `make compose-test` needs, only if missing: Debian's podman with runc, the
# netavark network backend (containers find each other by name) and explicit ulimits, debootstrap to make the
# base image locally, and podman-compose from PyPI in a venv (.build/venv-compose). Safe to run again.
#
# The engine settings go into /etc/containers/containers.conf before the first podman command: switching the
# network backend after podman made its first network leaves a stale bridge behind.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi
}

missing=()
for package in podman runc netavark aardvark-dns iptables uidmap conmon catatonit fuse-overlayfs slirp4netns \
  containernetworking-plugins debootstrap python3-venv; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done

conf=/etc/containers/containers.conf
if ! grep -q 'network_backend = "netavark"' "$conf" 2>/dev/null; then
  echo "configuring $conf (runc, netavark, explicit ulimits)"
  sudo_if_needed mkdir -p /etc/containers
  sudo_if_needed tee "$conf" >/dev/null <<'CONF'
# Written by Vectis's scripts/install-containers.sh.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
[network]
network_backend = "netavark"
CONF
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# A bridge left by the CNI backend (podman used before this configuration) breaks outbound routes.
if ip link show cni-podman0 >/dev/null 2>&1; then sudo_if_needed ip link del cni-podman0 || true; fi

venv=.build/venv-compose
if [ ! -x "$venv/bin/podman-compose" ]; then
  echo "installing: podman-compose (PyPI, in $venv)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'podman-compose==1.6.0'
fi
"$venv/bin/podman-compose" --version | head -1

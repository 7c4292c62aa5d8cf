#!/usr/bin/env bash
# Creates compose/secrets/: the admin token, the read-only token, and one AES-256 sealing key each for the
# collector (Datto keys) and rules (PSA keys). Existing files are kept.
#
# The folder is 0700, so on the host only you can reach the files; the files themselves are 0644 because compose
# bind-mounts them with the host's owner and mode, and the services run as uid 10001 inside the image.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p secrets
chmod 0700 secrets
umask 022
make_token() { [ -s "secrets/$1" ] || { head -c 24 /dev/urandom | base64 | tr '+/' '-_' > "secrets/$1.tmp" && mv "secrets/$1.tmp" "secrets/$1"; }; }
make_key() { [ -s "secrets/$1" ] || { head -c 32 /dev/urandom | base64 > "secrets/$1.tmp" && mv "secrets/$1.tmp" "secrets/$1"; }; }
make_token admin_token
make_token read_token
make_key collector_secret_key
make_key rules_secret_key
chmod 0644 secrets/admin_token secrets/read_token secrets/collector_secret_key secrets/rules_secret_key
echo "secrets in $(pwd)/secrets (admin token: secrets/admin_token, read-only token: secrets/read_token)"

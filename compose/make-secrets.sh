#!/usr/bin/env bash
# Creates compose/secrets/admin_token and compose/secrets/secret_key (a base64 AES-256 key), readable only by you.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p secrets
umask 077
[ -s secrets/admin_token ] || head -c 24 /dev/urandom | base64 | tr '+/' '-_' > secrets/admin_token
[ -s secrets/secret_key ] || head -c 32 /dev/urandom | base64 > secrets/secret_key
echo "secrets in $(pwd)/secrets (admin token: $(cat secrets/admin_token))"

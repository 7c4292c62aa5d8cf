#!/usr/bin/env bash
# Installs what building and testing need, only if it is missing: libzmq, SQLite and libcurl headers, openssl (the
# notification tests make a certificate),
# pkg-config, Debian's chromium and chromium-driver for the web console's browser test and the report PDFs,
# poppler-utils (pdftotext) for the report test, pyzmq for the Python interoperability test, aiosmtpd as the
# notification tests' SMTP server, and schemathesis for the API fuzz test. Safe to run again.
set -euo pipefail

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi
}

missing=()
for package in libzmq3-dev libsqlite3-dev libcurl4-openssl-dev pkg-config curl openssl chromium chromium-driver poppler-utils; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c "import zmq" >/dev/null 2>&1; then
  echo "installing: pyzmq (PyPI)"
  python3 -m pip install --quiet pyzmq
fi

if ! python3 -c "import aiosmtpd" >/dev/null 2>&1; then
  echo "installing: aiosmtpd (PyPI)"
  python3 -m pip install --quiet aiosmtpd
fi

if ! python3 -c "import schemathesis" >/dev/null 2>&1; then
  echo "installing: schemathesis (PyPI)"
  python3 -m pip install --quiet schemathesis
fi

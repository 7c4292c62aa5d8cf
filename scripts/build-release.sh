#!/usr/bin/env bash
# Builds every executable the image ships, in release mode with the Swift runtime linked statically, into one
# folder (default .build/dist/bin). One product per `swift build` (SwiftPM builds only the last of several
# --product flags); the first failure stops the script, and a product missing at the end is an error.
# Each executable carries the Swift runtime and Foundation (≈ 100 MB after stripping debug info).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.build/dist/bin}
products=(vectis-bus vectis-collector vectis-assets vectis-backups vectis-alerts vectis-rules vectis-console vectis vectis-sandbox)
mkdir -p "$out"
for product in "${products[@]}"; do
  started=$(date +%s)
  swift build -c release --static-swift-stdlib --product "$product"
  echo "built $product in $(( $(date +%s) - started )) s"
done
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
for product in "${products[@]}"; do
  [ -x "$bin/$product" ] || { echo "missing: $bin/$product" >&2; exit 1; }
  cp "$bin/$product" "$out/$product"
  # Debug info out (≈ 30 % of each file), symbols kept so a crash report still names its functions.
  strip --strip-debug "$out/$product"
done
echo "${#products[@]} executables in $out"

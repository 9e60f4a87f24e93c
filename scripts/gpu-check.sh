#!/usr/bin/env bash
# The GPU check: run this on a machine with a GPU. It builds the library with the `wgpu` and
# `cuda` backends, runs the backend-parity suite (tests/backend_parity.rs, full sizes) on each
# against Flex, and runs the training-step and sampling benchmarks (benches/backends.rs) on the
# GPU and on Flex. Everything goes into one directory (default target/gpu-check/<UTC time>/):
#
#   environment.txt      GPU, driver, Vulkan devices, toolchain, commit
#   parity-<dev>.md/.tsv measured parity table (max abs / rel error per case) and its raw lines
#   bench-<dev>.txt      criterion output (time per step / per sampling run, images per second)
#   build-<backend>.log  build logs; summary.md: what ran, what passed, how long it took
#
#   scripts/gpu-check.sh [OUT_DIR]
#   GPU_CHECK_WGPU=wgpu:0    the WGPU device (default `wgpu:0`, the first discrete GPU, so that a
#                            software Vulkan driver is never picked by accident; `wgpu` lets wgpu
#                            choose; `none` skips WGPU)
#   GPU_CHECK_CUDA=cuda:0    the CUDA device (`none` skips CUDA)
#   GPU_CHECK_PAPER=1        also bench the paper's deblur-mnist step (56.6 M parameters; default 1)
#   GPU_CHECK_BENCH_ARGS=... extra criterion arguments (e.g. `--test` for a one-iteration dry run)
#
# CUDA needs network access at build time: Burn 0.22.1's CUDA backend (cubecl-cuda 0.11)
# downloads a prebuilt LLVM in a build script (see docs/backends.md). On an offline machine the
# CUDA build fails; the script records that and carries on with WGPU, which reaches NVIDIA, AMD
# and Intel GPUs through Vulkan.
set -uo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

out="${1:-target/gpu-check/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
summary="$out/summary.md"
wgpu_dev="${GPU_CHECK_WGPU:-wgpu:0}"
cuda_dev="${GPU_CHECK_CUDA:-cuda:0}"
paper="${GPU_CHECK_PAPER:-1}"
bench_args="${GPU_CHECK_BENCH_ARGS:-}"
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d -t xdg-runtime.XXXXXX)"
  export XDG_RUNTIME_DIR
fi

note() { echo "$*" | tee -a "$summary"; }
timed() { # timed NAME LOG CMD...: runs CMD with output to LOG, notes its time and status
  local name="$1" log="$2" t0 status
  shift 2
  t0=$(date +%s)
  "$@" > "$log" 2>&1
  status=$?
  note "- $name: $([ $status = 0 ] && echo ok || echo "FAILED (exit $status)") in $(( $(date +%s) - t0 )) s (log: ${log#"$out"/})"
  return $status
}

note "# GPU check $(date -u +%Y-%m-%dT%H:%M:%SZ)"
note ""
{
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "host: $(uname -a)"
  echo "cpus: $(nproc)"
  free -g 2>/dev/null | head -2
  rustc -V; cargo -V
  echo; echo "== nvidia-smi"; nvidia-smi 2>&1 || echo "(no nvidia-smi)"
  echo; echo "== Vulkan"; vulkaninfo --summary 2>&1 | sed -n '/^Devices:/,$p' || echo "(no vulkaninfo)"
  echo; echo "== libcuda"; ldconfig -p 2>/dev/null | grep -E 'libcuda\.so' || echo "(libcuda not in the ldconfig cache)"
} > "$out/environment.txt" 2>&1
note "Environment: environment.txt"
note ""

# Benches on the GPU device and on Flex in the same build, so the two are comparable.
bench() { # bench BACKEND_FEATURE DEVICE TARGET_DIR
  local feature="$1" dev="$2" target="$3" safe
  safe="$(printf '%s' "$dev" | tr -c 'A-Za-z0-9_-' '_')"
  # shellcheck disable=SC2086
  CARGO_TARGET_DIR="$target" COLD_BENCH_DEVICES="$dev,flex" COLD_BENCH_PAPER="$paper" \
    timed "benches on $dev and flex (train step, Algorithm 2)" "$out/bench-$safe.txt" \
    cargo bench --locked -p cold-diffusion --features "$feature" --bench backends -- $bench_args
}

parity() { # parity BACKEND_FEATURE DEVICE TARGET_DIR
  local feature="$1" dev="$2" target="$3" safe
  safe="$(printf '%s' "$dev" | tr -c 'A-Za-z0-9_-' '_')"
  CARGO_TARGET_DIR="$target" timed "parity suite (full) on $dev" "$out/parity-$safe.log" \
    scripts/backend-parity.sh --full --device "$dev" --features "$feature" --out "$out/parity-$safe.md"
}

status=0
if [ "$wgpu_dev" != none ]; then
  note "## WGPU ($wgpu_dev)"
  target="$root/target/gpu-wgpu"
  if timed "build --features wgpu (tests, benches)" "$out/build-wgpu.log" \
      env CARGO_TARGET_DIR="$target" cargo build --release --locked -p cold-diffusion \
      --features wgpu --tests --benches; then
    parity wgpu "$wgpu_dev" "$target" || status=1
    bench wgpu "$wgpu_dev" "$target" || status=1
  else
    status=1
  fi
  note ""
fi

if [ "$cuda_dev" != none ]; then
  note "## CUDA ($cuda_dev)"
  target="$root/target/gpu-cuda"
  if timed "build --features cuda (tests, benches)" "$out/build-cuda.log" \
      env CARGO_TARGET_DIR="$target" cargo build --release --locked -p cold-diffusion \
      --features cuda --tests --benches; then
    parity cuda "$cuda_dev" "$target" || status=1
    bench cuda "$cuda_dev" "$target" || status=1
  else
    if grep -qE "tracel-llvm-bundler|failed to lookup address|llvm" "$out/build-cuda.log"; then
      note "  The CUDA build needs network access (cubecl downloads LLVM at build time); see docs/backends.md."
    fi
    grep -E "^(error|warning: build failed)" "$out/build-cuda.log" | head -5 | sed 's/^/  /' | tee -a "$summary"
    status=1
  fi
  note ""
fi

note "## Results"
for f in "$out"/parity-*.md; do
  [ -f "$f" ] && note "- $(basename "$f"): $(( $(grep -c '^| ' "$f") - 2 )) comparisons; $(sed -n 2p "$f")"
done
for f in "$out"/bench-*.txt; do
  [ -f "$f" ] || continue
  note "- $(basename "$f"):"
  # criterion prints the name, then `time: [low mid high]` and `thrpt: [...]`.
  awk '/^(train-step|sample)\// {name=$1} /time:/ && name {print "  - " name " " $0; name=""} /thrpt:/ {print "    " $0}' "$f" \
    | tee -a "$summary"
done
note ""
note "gpu-check.sh: exit status $status; results in $out"
exit $status

#!/usr/bin/env bash
# Source this file to run the wgpu backend without a GPU: it installs Mesa's software Vulkan
# driver (lavapipe) when missing and sets the environment the parity suite needs.
#
#   . scripts/lavapipe.sh
#
# - Installs `mesa-vulkan-drivers libvulkan1 vulkan-tools` with apt-get (Debian/Ubuntu) when they
#   are not installed; idempotent and quiet. Needs root (or sudo) only when it installs.
# - XDG_RUNTIME_DIR: the Vulkan loader wants a private (mode 700) directory; without one it
#   prints harmless errors.
# - CUBECL_AUTOTUNE_LEVEL=minimal: on lavapipe, autotuning makes the first launch of every
#   kernel shape very slow (the fastest candidate is not worth finding on a CPU); the kernels
#   themselves, and so the results, are the same kernels users run.
# Never build with burn's `vulkan` feature for lavapipe: its SPIR-V path segfaults in Mesa 22.3
# (docs/backends.md); the `wgpu` feature (WGSL through naga) works.

lavapipe_packages="mesa-vulkan-drivers libvulkan1 vulkan-tools"

lavapipe_missing() {
  local p
  for p in $lavapipe_packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || return 0
  done
  return 1
}

if lavapipe_missing; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "lavapipe.sh: apt-get not found; install Mesa's Vulkan drivers (lavapipe) yourself" >&2
    return 1 2>/dev/null || exit 1
  fi
  lavapipe_sudo=""
  [ "$(id -u)" -eq 0 ] || lavapipe_sudo="sudo"
  echo "lavapipe.sh: installing $lavapipe_packages" >&2
  # A fresh machine may have no package lists yet: update once, then install.
  if ! DEBIAN_FRONTEND=noninteractive $lavapipe_sudo apt-get install -y -qq --no-install-recommends \
      $lavapipe_packages >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive $lavapipe_sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $lavapipe_sudo apt-get install -y -qq --no-install-recommends \
      $lavapipe_packages >/dev/null
  fi
fi

if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ] || [ ! -w "$XDG_RUNTIME_DIR" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d -t xdg-runtime.XXXXXX)"
fi
chmod 700 "$XDG_RUNTIME_DIR"
export XDG_RUNTIME_DIR
export CUBECL_AUTOTUNE_LEVEL="${CUBECL_AUTOTUNE_LEVEL:-minimal}"

# One line naming the Vulkan devices, so logs show what the wgpu backend ran on.
if command -v vulkaninfo >/dev/null 2>&1; then
  # `|| true`: sourced from scripts running under `set -eo pipefail` (.ci/run), where a
  # vulkaninfo that finds no device must not end the caller; the wgpu run reports that itself.
  { vulkaninfo --summary 2>/dev/null | sed -n 's/^[[:space:]]*deviceName[[:space:]]*= //p' \
    | paste -sd ',' - | sed 's/^/lavapipe.sh: Vulkan devices: /' >&2; } || true
fi

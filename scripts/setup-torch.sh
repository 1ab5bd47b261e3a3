#!/usr/bin/env bash
# Links `.torch` to a LibTorch (a directory with include/ and lib/), idempotently.
# Order: $LIBTORCH, then the torch package importable by python3, then the CPU wheel
# fetched with pip (no virtualenv needed) and unpacked into .torch-dist/.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION="${TORCH_VERSION:-2.13.0+cpu}"

need() {  # a tool this script runs, with what to install when it is missing
  command -v "$1" >/dev/null 2>&1 || { echo "setup-torch: '$1' is not installed ($2)" >&2; exit 1; }
}
need nm "binutils: apt-get install binutils"
need swift "the Swift toolchain, 6.0 or newer: https://www.swift.org/install"

abi_of() {  # prints 1 when the libraries use the C++11 std::string ABI
  local n
  n=$(nm -D --defined-only "$1/lib/libc10.so" 2>/dev/null | grep -c '__cxx11' || true)
  if [ "${n:-0}" -gt 0 ]; then echo 1; else echo 0; fi
}

link() {
  local dir="$1" how="$2"
  [ -f "$dir/include/ATen/ATen.h" ] || { echo "setup-torch: $dir has no include/ATen/ATen.h ($how)" >&2; exit 1; }
  [ -f "$dir/lib/libc10.so" ] || { echo "setup-torch: $dir has no lib/libc10.so ($how)" >&2; exit 1; }
  if [ "$(abi_of "$dir")" != 1 ]; then
    echo "setup-torch: $dir was built with the old C++ ABI (_GLIBCXX_USE_CXX11_ABI=0); the shim needs the new one" >&2
    exit 1
  fi
  if [ "$(readlink .torch 2>/dev/null || true)" != "$dir" ]; then
    ln -sfn "$dir" .torch
    echo "setup-torch: .torch -> $dir ($how)"
  fi
}

if [ -n "${LIBTORCH:-}" ]; then
  link "$(cd "$LIBTORCH" && pwd)" "LIBTORCH"
  exit 0
fi

if [ -L .torch ] && [ -f .torch/include/ATen/ATen.h ] && [ -f .torch/lib/libc10.so ]; then
  exit 0  # already set up
fi

py_torch=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null || true)
if [ -n "$py_torch" ] && [ -f "$py_torch/include/ATen/ATen.h" ]; then
  link "$py_torch" "python3's torch"
  exit 0
fi

if [ ! -f .torch-dist/torch/lib/libc10.so ]; then
  need python3 "python3 with pip, to fetch the torch wheel; or set LIBTORCH to an unpacked LibTorch"
  echo "setup-torch: fetching torch==$TORCH_VERSION with pip (once, about 200 MB)"
  rm -rf .torch-dist.tmp && mkdir -p .torch-dist.tmp
  if ! python3 -m pip download --quiet --no-deps "torch==$TORCH_VERSION" -d .torch-dist.tmp; then
    cat >&2 <<EOF
setup-torch: pip could not fetch torch==$TORCH_VERSION (the +cpu builds live on PyTorch's own
index, not on PyPI). Either
  - unpack PyTorch's LibTorch (C++ API, cxx11 ABI) and run: LIBTORCH=/path/to/libtorch make test
    (https://download.pytorch.org/libtorch/cpu/libtorch-cxx11-abi-shared-with-deps-2.13.0%2Bcpu.zip), or
  - let pip use that index: PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu make test
EOF
    rm -rf .torch-dist.tmp
    exit 1
  fi
  (cd .torch-dist.tmp && python3 -m zipfile -e torch-*.whl unpacked >/dev/null)
  mkdir -p .torch-dist.tmp/torch
  mv .torch-dist.tmp/unpacked/torch/include .torch-dist.tmp/unpacked/torch/lib .torch-dist.tmp/torch/
  rm -rf .torch-dist.tmp/unpacked .torch-dist.tmp/*.whl
  rm -rf .torch-dist && mv .torch-dist.tmp .torch-dist
fi
link "$PWD/.torch-dist/torch" "torch==$TORCH_VERSION wheel"

#!/usr/bin/env bash
# Links `.torch` to a LibTorch (a directory with include/ and lib/), idempotently.
# Order: $LIBTORCH, then the torch package importable by python3, then the CPU wheel
# fetched with pip (no virtualenv needed) and unpacked into .torch-dist/, and where no index
# has that wheel, PyPI's torch installed into a project-local virtual environment
# (.torch-venv/; its LibTorch runs on CPU, and on CUDA where there is a GPU).
# TORCH_SETUP=venv goes to the virtual environment directly.
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

venv_torch() {  # PyPI's torch (with its CUDA libraries on Linux x86-64) in .torch-venv/
  local version="${TORCH_VERSION%%+*}" dir
  need python3 "python3 with venv and pip; or set LIBTORCH to an unpacked LibTorch"
  if [ ! -x .torch-venv/bin/python ] || ! .torch-venv/bin/python -c 'import torch' 2>/dev/null; then
    echo "setup-torch: installing torch==$version into .torch-venv/ (PyPI's build: about 1 GB, more with CUDA libraries)"
    rm -rf .torch-venv
    python3 -m venv .torch-venv || { echo "setup-torch: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
    .torch-venv/bin/python -m pip install --quiet "torch==$version" || { echo "setup-torch: pip could not install torch==$version" >&2; exit 1; }
  fi
  dir=$(.torch-venv/bin/python -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)
  link "$dir" "torch==$version in .torch-venv"
}

if [ "${TORCH_SETUP:-}" = venv ]; then
  venv_torch
  exit 0
fi

if [ ! -f .torch-dist/torch/lib/libc10.so ]; then
  need python3 "python3 with pip, to fetch the torch wheel; or set LIBTORCH to an unpacked LibTorch"
  echo "setup-torch: fetching torch==$TORCH_VERSION with pip (once, about 200 MB)"
  rm -rf .torch-dist.tmp && mkdir -p .torch-dist.tmp
  if ! python3 -m pip download --quiet --no-deps "torch==$TORCH_VERSION" -d .torch-dist.tmp; then
    rm -rf .torch-dist.tmp
    cat >&2 <<EOF
setup-torch: pip could not fetch torch==$TORCH_VERSION (the +cpu builds live on PyTorch's own
index, not on PyPI); falling back to PyPI's torch in a virtual environment. Other ways:
  - unpack PyTorch's LibTorch (C++ API, cxx11 ABI) and run: LIBTORCH=/path/to/libtorch make test
    (https://download.pytorch.org/libtorch/cpu/libtorch-cxx11-abi-shared-with-deps-2.13.0%2Bcpu.zip), or
  - let pip use that index: PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu make test
EOF
    venv_torch
    exit 0
  fi
  (cd .torch-dist.tmp && python3 -m zipfile -e torch-*.whl unpacked >/dev/null)
  mkdir -p .torch-dist.tmp/torch
  mv .torch-dist.tmp/unpacked/torch/include .torch-dist.tmp/unpacked/torch/lib .torch-dist.tmp/torch/
  rm -rf .torch-dist.tmp/unpacked .torch-dist.tmp/*.whl
  rm -rf .torch-dist && mv .torch-dist.tmp .torch-dist
fi
link "$PWD/.torch-dist/torch" "torch==$TORCH_VERSION wheel"

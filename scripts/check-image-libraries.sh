#!/usr/bin/env bash
# The image decoders link the system libjpeg-turbo and libpng; say how to install them when
# their headers are missing, before the build fails on it.
set -euo pipefail
compiler=${CC:-$(command -v cc || command -v clang)}
missing=()
for header in jpeglib.h png.h; do
    if ! echo "#include <stdio.h>
#include <$header>" | "$compiler" -E -x c - > /dev/null 2>&1; then missing+=("$header"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "missing headers: ${missing[*]}. Install them with:" >&2
    if [ "$(uname)" = Darwin ]; then echo "  brew install jpeg-turbo libpng" >&2
    else echo "  sudo apt-get install libjpeg62-turbo-dev libpng-dev" >&2; fi
    exit 1
fi

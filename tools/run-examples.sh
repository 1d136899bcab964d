#!/usr/bin/env bash
# Runs every example program in a build tree, stopping at the first failure.
set -euo pipefail
build=${1:-build}
for exe in "$build"/examples/tutorial/*; do
  [ -x "$exe" ] || continue
  echo "== examples/tutorial/$(basename "$exe")"
  "$exe"
done
if [ -x "$build/examples/train_digits" ]; then
  echo "== examples/train_digits"
  (cd "$build/examples" && ./train_digits)
fi
if [ -x "$build/examples/compile" ]; then
  echo "== examples/compile"
  (cd "$build/examples" && ./compile)
  if [ -x "$build/tools/kiln-irdump" ]; then
    echo "== kiln-irdump --stats --explain-fusion digits.kiln"
    "$build/tools/kiln-irdump" --stats --explain-fusion "$build/examples/digits.kiln"
  fi
fi

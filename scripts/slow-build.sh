#!/usr/bin/env bash
# slow-build.sh MESSAGE COMMAND...: runs a build that may take minutes
# (the tray app's first cgo build), saying what it is and, every 30 s,
# that it is still going, so a silent terminal never looks like a hang.
set -euo pipefail
msg=$1; shift
echo "$msg"
start=$SECONDS
"$@" &
build=$!
trap 'kill "$build" 2>/dev/null || true' INT TERM
while kill -0 "$build" 2>/dev/null; do
  for _ in $(seq 1 30); do
    kill -0 "$build" 2>/dev/null || break
    sleep 1
  done
  kill -0 "$build" 2>/dev/null && echo "  … still building ($((SECONDS - start)) s)"
done
wait "$build"

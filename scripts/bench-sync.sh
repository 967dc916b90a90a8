#!/usr/bin/env bash
# The folder sync benchmarks of issue 9, part of make bench (never of make
# test): LAFS Sync's daemon and its 10-server loopback grid beside two
# Syncthing instances syncing the same data on loopback, in the same run.
#   1. latency from a file's close to its new content on another device (p50, p95)
#   2. first sync of 10,000 files / 1 GiB
#   4. RSS while one 4 GiB file syncs; idle CPU with 10 folders of 10,000 files
# (3, the rescan of 100,000 unchanged files, is a Go benchmark of syncer/scan.)
# Figures and what they mean: docs/benchmarks.md, "Folder sync (issue 9)".
#
# SYNCBENCH_ARGS adds flags (e.g. "-steps latency -edits 50"; syncbench -h
# lists them); SYNCBENCH_TIMEOUT bounds the whole run (default 5400 s: the four parts take about 50 min on 2 cores).
# Everything listens on 127.0.0.1 only; scratch files go under $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."

# The anchor: Debian's syncthing package, installed here if missing (it is
# needed only by make bench, so scripts/deps.sh does not install it).
if ! command -v syncthing >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  if command -v apt-get >/dev/null && { [ -z "$sudo" ] || command -v sudo >/dev/null; }; then
    echo "bench-sync: installing Debian's syncthing package for the anchor"
    $sudo apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends syncthing >/dev/null ||
      echo "bench-sync: could not install syncthing: the Syncthing anchors are skipped"
  fi
fi
st=$(command -v syncthing || true)

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/lafs" ./app/cmd/lafs
go build -o "$bin/syncbench" ./internal/syncbench/cmd/syncbench
# shellcheck disable=SC2086 # SYNCBENCH_ARGS is a list of flags
timeout --signal=INT --kill-after=60 "${SYNCBENCH_TIMEOUT:-5400}" \
  "$bin/syncbench" -lafs "$bin/lafs" -syncthing "$st" ${SYNCBENCH_ARGS:-}

#!/usr/bin/env bash
# The tray app's benchmarks (issue 11) on the real lafsync binary, on a
# private desktop (scripts/with-desktop.sh: Xvfb and a D-Bus session):
#   - start → tray icon (StatusNotifierItem name on the bus) and → the tray
#     menu listing the folder, with 10,000 files in the folder; a node with
#     no folder and a first start as the anchors;
#   - the UI event loop's longest wait during a 1 GiB upload
#     (LAFSSYNC_UI_PROBE, app/cmd/lafsync/uiprobe.go).
# Figures: the "BENCH" lines. docs/benchmarks.md "Tray app" has the last ones.
#
#   scripts/bench-tray.sh                 both
#   scripts/bench-tray.sh start|upload    one of them
# Environment: LAFSSYNC_BENCH_RUNS (starts per case, 7), LAFSSYNC_BENCH_UPLOADS
# (3), LAFSSYNC_BENCH_DIR (keep the prepared 10,000-file node there; preparing
# it syncs 10,000 files, several minutes), LAFSSYNC_BENCH_BIN (a built lafsync).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-all}" in
  start) run='^TestBenchTrayStart$' ;;
  upload) run='^TestBenchTrayUpload$' ;;
  all) run='^TestBenchTray(Start|Upload)$' ;;
  *) echo "usage: $0 [start|upload|all]" >&2; exit 2 ;;
esac
export LAFSSYNC_BENCH=1
if [ -z "${LAFSSYNC_BENCH_BIN:-}" ]; then
  bin="$(mktemp -d)/lafsync"
  trap 'rm -rf "$(dirname "$bin")"' EXIT
  go build -o "$bin" ./app/cmd/lafsync
  export LAFSSYNC_BENCH_BIN="$bin"
fi
log="$(mktemp)"
status=0
scripts/with-desktop.sh go test -count=1 -timeout "${LAFSSYNC_BENCH_TIMEOUT:-90m}" -run "$run" -v ./app/cmd/lafsync 2>&1 |
  tee "$log" || status=$?
echo "--- summary"
grep -E 'BENCH' "$log" | sed 's/^ *bench_test.go:[0-9]*: //' || true
rm -f "$log"
exit "$status"

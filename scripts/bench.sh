#!/usr/bin/env bash
# make bench: the Go benchmarks of every package, then the ratios the issues
# set goals for, each against a baseline measured in this same run, and the
# peak RSS of a 1 GiB streaming round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime="${BENCHTIME:-3x}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3)"
LAFSSYNC_BENCH_1GIB=1 go test -run '^$' -bench . -skip 'BenchmarkFullNode|BenchmarkIdleNode|BenchmarkWebAPI' -benchmem -benchtime "$benchtime" ./... | tee "$out"
go test -run '^$' -bench 'BenchmarkFullNode' -benchtime 4x ./node/fullnode | tee -a "$out"
go test -run '^$' -bench 'BenchmarkIdleNode20Peers' -benchtime 1x ./app/cmd/lafs | tee -a "$out"

mbps() { awk -v pat="$1" '$1 ~ pat { for (i = 1; i < NF; i++) if ($(i+1) == "MB/s") { print $i; exit } }' "$out"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.0f%%", 100 * a / b }'; }

echo
echo "== ratios (same run)"
for size in 1MiB 64MiB 1024MiB; do
  base=$(mbps "^BenchmarkBaseline/$size-")
  [ -n "$base" ] || continue
  enc=$(mbps "^BenchmarkEncode/$size-")
  enck=$(mbps "^BenchmarkEncodeWithKey/$size-")
  dec=$(mbps "^BenchmarkDecode/$size-")
  printf 'CHK %-8s baseline (SHA-256 + AES-CTR) %8s MB/s | encode %7s MB/s = %5s | encode incl. convergence pass %7s MB/s = %5s | decode %7s MB/s = %5s   (goal: encode >= 40%%)\n' \
    "$size" "$base" "$enc" "$(ratio "$enc" "$base")" "$enck" "$(ratio "$enck" "$base")" "$dec" "$(ratio "$dec" "$base")"
done
for size in 1MiB 64MiB; do
  up=$(mbps "^BenchmarkUpload/$size-"); down=$(mbps "^BenchmarkDownload/$size-")
  [ -n "$up" ] && printf 'grid in-memory %-6s upload %7s MB/s, download %7s MB/s (10 in-memory servers, 3-of-10)\n' "$size" "$up" "$down"
done

for op in Upload Download; do
  mem=$(mbps "^Benchmark${op}/64MiB-")
  for be in mem disk; do
    g=$(mbps "^BenchmarkGBS/${op}/${be}-")
    [ -n "$g" ] && printf 'GBS %-8s 64 MiB, 10 loopback servers (%s backends): %7s MB/s = %5s of the in-memory grid (%s MB/s)   (goal >= 60%%)\n' "$op" "$be" "$g" "$(ratio "$g" "$mem")" "$mem"
  done
done

metric() { awk -v pat="$1" -v unit="$2" '$1 ~ pat { for (i = 2; i <= NF; i++) if ($i == unit) { print $(i-1); exit } }' "$out"; }
printf 'full node stack 256 MiB, 10 loopback nodes: upload %s MB/s = %s%% of plain GBS (%s MB/s), download %s MB/s = %s%% of plain GBS (%s MB/s)   (goal >= 90%%)\n' \
  "$(metric '^BenchmarkFullNode' node-up-MB/s)" "$(metric '^BenchmarkFullNode' up-%)" "$(metric '^BenchmarkFullNode' gbs-up-MB/s)" \
  "$(metric '^BenchmarkFullNode' node-down-MB/s)" "$(metric '^BenchmarkFullNode' down-%)" "$(metric '^BenchmarkFullNode' gbs-down-MB/s)"
go test -run '^$' -bench 'BenchmarkWebAPI' -benchtime 2x ./node/webapi | tee -a "$out"
printf 'web API 64 MiB, 3 local storage nodes 2-of-3: PUT %s MB/s = %s%% of the in-memory grid (%s MB/s; CPU %s%%), GET %s MB/s = %s%% (%s MB/s; CPU %s%%)\n' \
  "$(metric '^BenchmarkWebAPI' put-MB/s)" "$(metric '^BenchmarkWebAPI' put-%)" "$(metric '^BenchmarkWebAPI' mem-up-MB/s)" "$(metric '^BenchmarkWebAPI' put-cpu-%)" \
  "$(metric '^BenchmarkWebAPI' get-MB/s)" "$(metric '^BenchmarkWebAPI' get-%)" "$(metric '^BenchmarkWebAPI' mem-down-MB/s)" "$(metric '^BenchmarkWebAPI' get-cpu-%)"
printf 'idle node with 20 peers: %s%% of a core (busiest of its 20 storage peers: %s%%)   (goal < 1%%)\n' \
  "$(metric '^BenchmarkIdleNode20Peers' client-cpu-%)" "$(metric '^BenchmarkIdleNode20Peers' max-server-cpu-%)"

echo
echo "== peak RSS of a 1 GiB CHK encode + decode streamed through files (goal < 100 MB)"
bin=$(mktemp -d)
go test -c -o "$bin/chk.test" ./grid/chk
( cd grid/chk && /usr/bin/time -f 'peak RSS %M KB, %e s wall' "$bin/chk.test" -test.run '^TestRoundTrip1GiB$' -test.v 2>&1 | grep -E 'heap in use|peak RSS|PASS|FAIL' )
rm -rf "$bin"

echo
echo "== 10 'lafs run' processes: 1 GiB up and down through GBS, 3 servers killed mid-download"
go test -count=1 -run '^TestTenServerProcesses$' -v ./node/storagenode | grep -E 'uploaded|downloaded|peak RSS|PASS|FAIL'

echo
echo "== helper vs direct on a 20 Mbit/s uplink, network namespaces (root only; issue 10)"
LAFSSYNC_BENCH=1 go test -count=1 -timeout 9m -run '^TestBenchHelperUplink$' -v ./app/cmd/lafs |
  grep -E 'helper uplink|^\s+\||direct / helper|PASS|FAIL|SKIP' || true

echo
echo "== folder sync (issue 9): LAFS Sync beside Syncthing, same run (scripts/bench-sync.sh)"
scripts/bench-sync.sh

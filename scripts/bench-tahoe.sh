#!/usr/bin/env bash
# LAFS Sync's full stack against a real Tahoe-LAFS, same run (issue 13 item
# 15). Optional: not part of `make test`; skips (exit 0) with a message when
# no Tahoe is available.
#
# Each side gets an introducer, 3 storage nodes and a client node (2-of-3,
# happy 2), every one its own process on 127.0.0.1. Per run, a fresh random
# 64 MiB file goes up and comes back through each client's web API
# (PUT /uri, GET /uri/CAP with curl: the PUT streams the file, -T, without
# Expect: 100-continue, as Go's and Python's HTTP clients send it; curl's
# --data-binary @FILE reads the whole file into its memory first and costs
# it ~0.6 s of CPU per 64 MiB) and a second fresh file through each
# CLI (tahoe put/get, lafs put/get); the two sides alternate, the one that
# goes first alternating too. GETs are compared with the file (not timed).
# Figures: the "BENCH" lines and the medians at the end. CPU is the user +
# system time of the side's five node processes during the operation plus
# that of the curl or CLI process (the CPU a machine pays, whatever the load).
#
# Environment:
#   TAHOE             a tahoe command (default: /tmp/tahoe-bench/tahoe, the
#                     from-source wrapper docs/interop.md describes)
#   BENCH_TAHOE_RUNS  runs per side (default 3)
#   BENCH_TAHOE_MIB   file size in MiB (default 64)
#   BENCH_TAHOE_DIR   work directory (default: a new /tmp/tahoe-bench-run.*)
#   LAFS              a built lafs (default: built from this checkout)
set -euo pipefail
cd "$(dirname "$0")/.."

TAHOE="${TAHOE:-/tmp/tahoe-bench/tahoe}"
runs="${BENCH_TAHOE_RUNS:-3}"
mib="${BENCH_TAHOE_MIB:-64}"
if ! command -v "$TAHOE" >/dev/null 2>&1 || ! tv="$("$TAHOE" --version 2>/dev/null | head -1)" || [ -z "$tv" ]; then
  echo "bench-tahoe: SKIP: no working Tahoe-LAFS at TAHOE=$TAHOE (see docs/interop.md, \"How to run it again\")"
  exit 0
fi
for c in curl cmp python3; do
  command -v "$c" >/dev/null || { echo "bench-tahoe: SKIP: $c not found"; exit 0; }
done

work="${BENCH_TAHOE_DIR:-$(mktemp -d /tmp/tahoe-bench-run.XXXXXX)}"
mkdir -p "$work"
pids=() tpids=() opids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "${BENCH_TAHOE_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${LAFS:-}" ]; then
  LAFS="$work/lafs"
  go build -o "$LAFS" ./app/cmd/lafs
fi

# freeport prints a TCP port on 127.0.0.1 that is free now.
freeport() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# start CMD... runs a node in the background, its output in $log.
start() {
  local log="$1"; shift
  "$@" >"$log" 2>&1 </dev/null &
  pids+=("$!")
  case "$log" in "$work/tahoe/"*) tpids+=("$!") ;; *) opids+=("$!") ;; esac
}
# waitfor SECONDS WHAT CMD...: until CMD succeeds, at most SECONDS.
waitfor() {
  local n="$1" what="$2"; shift 2
  for ((i = 0; i < n * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "bench-tahoe: FAIL: $what within ${n}s" >&2
  exit 1
}

# --- Tahoe grid
tg="$work/tahoe"
mkdir -p "$tg"
p="$(freeport)"
"$TAHOE" create-introducer --port="tcp:$p:interface=127.0.0.1" --location="tcp:127.0.0.1:$p" "$tg/intro" >/dev/null
start "$tg/intro.log" "$TAHOE" run --allow-stdin-close "$tg/intro"
waitfor 60 "Tahoe's introducer to start" test -s "$tg/intro/private/introducer.furl"
furl="$(cat "$tg/intro/private/introducer.furl")"
for i in 1 2 3; do
  p="$(freeport)"
  "$TAHOE" create-node --nickname="s$i" --introducer="$furl" --port="tcp:$p:interface=127.0.0.1" \
    --location="tcp:127.0.0.1:$p" --webport="tcp:$(freeport):interface=127.0.0.1" \
    --shares-needed=2 --shares-happy=2 --shares-total=3 "$tg/s$i" >/dev/null
  # The default reserved_space (1G) does not matter here; keep it.
  start "$tg/s$i.log" "$TAHOE" run --allow-stdin-close "$tg/s$i"
done
tweb="$(freeport)"
"$TAHOE" create-client --nickname=c --introducer="$furl" --webport="tcp:$tweb:interface=127.0.0.1" \
  --shares-needed=2 --shares-happy=2 --shares-total=3 "$tg/c" >/dev/null
start "$tg/c.log" "$TAHOE" run --allow-stdin-close "$tg/c"
turl="http://127.0.0.1:$tweb"
tahoe_connected() {
  curl -sf "$turl/?t=json" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if sum(s["connection_status"]=="connected" for s in d["servers"])==3 else 1)'
}
waitfor 120 "Tahoe's client to connect to 3 storage servers" tahoe_connected

# --- LAFS Sync grid
lg="$work/lafs-grid"
mkdir -p "$lg"
"$LAFS" create-introducer --nickname intro "$lg/intro" >/dev/null
start "$lg/intro.log" "$LAFS" run "$lg/intro"
waitfor 60 "our introducer to start" test -s "$lg/intro/private/introducer.url"
iu="$(cat "$lg/intro/private/introducer.url")"
for i in 1 2 3; do
  "$LAFS" create-node --storage --nickname "s$i" --introducer "$iu" "$lg/s$i" >/dev/null
  start "$lg/s$i.log" "$LAFS" run "$lg/s$i"
done
"$LAFS" create-node --nickname client --introducer "$iu" "$lg/c" >/dev/null
python3 - "$lg/c/tahoe.cfg" <<'EOF'
import configparser, sys
c = configparser.ConfigParser(interpolation=None)
c.read(sys.argv[1])
if not c.has_section("client"):
    c.add_section("client")
c["client"].update({"shares.needed": "2", "shares.happy": "2", "shares.total": "3"})
with open(sys.argv[1], "w") as f:
    c.write(f)
EOF
start "$lg/c.log" "$LAFS" run "$lg/c"
waitfor 60 "our client node to start" test -s "$lg/c/node.url"
lafs_connected() {
  "$LAFS" -d "$lg/c" status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); p=d.get("params",{}); sys.exit(0 if sum(bool(s.get("connected")) for s in d["servers"])==3 and p.get("shares_needed")==2 and p.get("shares_total")==3 else 1)'
}
waitfor 120 "our client to connect to 3 storage servers (2-of-3)" lafs_connected
lurl="$(tr -d '\n' <"$lg/c/node.url")"
lurl="${lurl%/}"
ltok="$(tr -d '\n' <"$lg/c/private/api_auth_token")"

echo "bench-tahoe: Tahoe: $tv ($TAHOE); ours: $("$LAFS" --version 2>/dev/null | head -1) at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "bench-tahoe: ${mib} MiB, 2-of-3 happy 2 on 3 storage nodes, $runs runs per side; $(nproc) cores"

now() { date +%s.%N; }
# nodecpu SIDE: the CPU seconds (user + system) the side's node processes used so far.
nodecpu() {
  local -n ps="${1:0:1}pids"
  local tot=0 p
  for p in "${ps[@]}"; do
    read -r -a st <"/proc/$p/stat"
    tot=$((tot + st[13] + st[14]))
  done
  python3 -c "print($tot / $(getconf CLK_TCK))"
}
secs() { python3 -c "print(f'{$2-$1:.3f}')"; }
results="$work/results"
: >"$results"

# tm CMD...: runs CMD, its CPU seconds (user + system) into $work/time.
tm() { /usr/bin/time -f '%U %S' -o "$work/time" "$@"; }

# one SIDE OP FILE: times one operation, appends "SIDE OP SECONDS" to $results.
one() {
  local side="$1" op="$2" f="$3" t0 t1 c0 c1 cap tm="$work/time"
  c0="$(nodecpu "$side")"
  t0="$(now)"
  case "$side/$op" in
    tahoe/webput) cap="$(tm curl -sSf -H 'Expect:' -T "$f" "$turl/uri")" ;;
    ours/webput) cap="$(tm curl -sSf -H 'Expect:' -H "Authorization: Bearer $ltok" -T "$f" "$lurl/uri")" ;;
    tahoe/webget) tm curl -sSf -o "$f.back" "$turl/uri/$(cat "$f.cap.$side")" ;;
    ours/webget) tm curl -sSf -H "Authorization: Bearer $ltok" -o "$f.back" "$lurl/uri/$(cat "$f.cap.$side")" ;;
    tahoe/cliput) cap="$(tm "$TAHOE" -d "$tg/c" put "$f" 2>/dev/null)" ;;
    ours/cliput) cap="$(tm "$LAFS" -d "$lg/c" put "$f")" ;;
    tahoe/cliget) tm "$TAHOE" -d "$tg/c" get "$(cat "$f.cap.$side")" "$f.back" 2>/dev/null ;;
    ours/cliget) tm "$LAFS" -d "$lg/c" get "$(cat "$f.cap.$side")" "$f.back" ;;
  esac
  t1="$(now)"
  c1="$(nodecpu "$side")"
  case "$op" in
    *put)
      cap="$(echo "$cap" | tr -d '\r\n')"
      case "$cap" in URI:CHK:*) ;; *) echo "bench-tahoe: FAIL: $side $op printed ${cap:0:40}" >&2; exit 1 ;; esac
      echo "$cap" >"$f.cap.$side" ;;
    *get)
      cmp -s "$f" "$f.back" || { echo "bench-tahoe: FAIL: $side $op returned other bytes" >&2; exit 1; }
      rm -f "$f.back" ;;
  esac
  local s cpu
  s="$(secs "$t0" "$t1")"
  read -r cu cs <"$tm"
  cpu="$(python3 -c "print(f'{$c1 - $c0 + $cu + $cs:.2f}')")"
  echo "$side $op $s $cpu" >>"$results"
  echo "BENCH run=$run side=$side op=$op seconds=$s MB/s=$(python3 -c "print(f'{$mib*1.048576/$s:.1f}')") cpu=$cpu load=$(cut -d' ' -f1-3 /proc/loadavg)"
}

for ((run = 1; run <= runs; run++)); do
  w="$work/web$run" c="$work/cli$run"
  head -c "$((mib << 20))" /dev/urandom >"$w"
  head -c "$((mib << 20))" /dev/urandom >"$c"
  if ((run % 2)); then order="tahoe ours"; else order="ours tahoe"; fi
  for side in $order; do one "$side" webput "$w"; one "$side" webget "$w"; done
  for side in $order; do one "$side" cliput "$c"; one "$side" cliget "$c"; done
  rm -f "$w" "$c"
done

echo "--- medians of $runs runs (seconds; ratio = Tahoe's / ours)"
python3 - "$results" <<'EOF'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    side, op, s, cpu = line.split()
    t.setdefault((side, op), []).append(float(s))
    t.setdefault((side, op, "cpu"), []).append(float(cpu))
for op in ("webput", "webget", "cliput", "cliget"):
    a, b = statistics.median(t[("tahoe", op)]), statistics.median(t[("ours", op)])
    ca, cb = statistics.median(t[("tahoe", op, "cpu")]), statistics.median(t[("ours", op, "cpu")])
    print(f"{op}: wall tahoe {a:.3f} s, ours {b:.3f} s, ratio {a/b:.2f}x; CPU tahoe {ca:.2f} s, ours {cb:.2f} s, ratio {ca/cb:.2f}x")
    print(f"    wall tahoe {t[('tahoe', op)]}, ours {t[('ours', op)]}")
EOF
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

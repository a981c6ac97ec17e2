#!/usr/bin/env bash
# The anatomy of an audit group-commit cycle: a fresh server on CPU 0
# (GOMAXPROCS=1), the load generator on CPU 1, and over 2 s in the middle
# of an 8-second run a perf trace of the server's pwrite64, io_submit and
# io_getevents calls and of the disk's cache flushes. Each cycle is split
# into three means:
#
#   disk:     io_submit of the AIO fsync until its cache flush completes
#             (the kernel writing the batch and flushing the disk cache)
#   hear:     the flush completing until the writer's io_getevents returns
#             (the writer goroutine learning of it: Go polls the eventfd
#             only when it runs out of other goroutines)
#   next:     that until the next batch's pwrite64 (answering the batch,
#             the yield, and records queueing for the next one)
#
#   bench/cycle.sh BIN OP SIZE CONNS [server flags...]
#   bench/cycle.sh /tmp/keyward encrypt 32 32
#
# Needs perf with the syscalls and block tracepoints (root, or a low
# perf_event_paranoid), Linux AIO (the server falls back to a blocking
# fdatasync without it, and the script then finds no cycles), and nothing
# else flushing DEV's cache meanwhile.
set -euo pipefail
BIN=$1; OP=$2; SIZE=$3; C=$4; shift 4
source "$(dirname "$0")/lib.sh"
PORT=${PORT:-7997}
start_server "$BIN" "$PORT" "$@"
data=$(mktemp /tmp/kwcy.XXXX)
out=$(mktemp /tmp/kwcy-lg.XXXX)
trap 'kill $P 2>/dev/null; wait $P 2>/dev/null; rm -rf "$D" "$data" "$out"' EXIT
loadgen "$PORT" "$OP" "$SIZE" "$C" >"$out" 2>&1 &
L=$!
sleep 3
perf record -q -o "$data" -a -e block:block_rq_complete \
  -e syscalls:sys_enter_io_submit,syscalls:sys_exit_io_getevents,syscalls:sys_enter_pwrite64 \
  -- sleep 2 >/dev/null 2>&1
wait "$L"
grep -o '[0-9]* ops/s' "$out" | head -1
perf script -i "$data" -F pid,time,event,trace 2>/dev/null | awk -v pid="$P" '
  # Fields: pid, time, event, trace. Flush completions carry "FF".
  { t = $2 + 0 }
  $1 == pid && $3 ~ /sys_enter_pwrite64/ { if (heard && !pw) { next_ += t - heard; nn++ } pw = t }
  $1 == pid && $3 ~ /sys_enter_io_submit/ { sub_ = t; flushed = 0 }
  $3 ~ /block_rq_complete/ && / FF / { if (sub_ && !flushed) { disk += t - sub_; nd++; flushed = t } }
  $1 == pid && $3 ~ /sys_exit_io_getevents/ { if (flushed) { hear += t - flushed; nh++ } heard = t; pw = 0; sub_ = 0; flushed = 0 }
  END {
    if (nd == 0 || nh == 0 || nn == 0) { print "no AIO fsync cycles seen (audit writing off, or no AIO?)"; exit 1 }
    printf "%d cycles in 2 s: disk %.0f us, hear %.0f us, next %.0f us (means)\n", nd, disk / nd * 1e6, hear / nh * 1e6, next_ / nn * 1e6
  }'

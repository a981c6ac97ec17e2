#!/usr/bin/env bash
# Where the server's core goes: a fresh server on CPU 0 (GOMAXPROCS=1), the
# load generator on CPU 1, and over 5 s in the middle of an 8-second run
# CPU 0's time split into the server's user and system time, the kernel
# workers bound to CPU 0 (kworker/0:*, which run the server's AIO fsyncs
# and block I/O), interrupts, idle and iowait, each also as microseconds
# of CPU 0 per request at the generator's rate.
#
#   bench/cpusplit.sh BIN OP SIZE CONNS [server flags...]
#   bench/cpusplit.sh /tmp/keyward encrypt 32 32
#   bench/cpusplit.sh /tmp/keyward encrypt 32 32 --insecure-benchmark-audit-no-fsync
#
# Linux only (/proc). The figures are clock ticks (USER_HZ, usually 100 a
# second), so a share is good to about half a percent.
set -euo pipefail
BIN=$1; OP=$2; SIZE=$3; C=$4; shift 4
source "$(dirname "$0")/lib.sh"
PORT=${PORT:-7996}
start_server "$BIN" "$PORT" "$@"
out=$(mktemp /tmp/kwc-lg.XXXX)
loadgen "$PORT" "$OP" "$SIZE" "$C" >"$out" 2>&1 &
L=$!

# cpu0: user nice system idle iowait irq softirq steal, from /proc/stat.
cpu0() { awk '$1 == "cpu0" { print $2, $3, $4, $5, $6, $7, $8, $9 }' /proc/stat; }
# proc: the server's user and system ticks.
proc() { awk '{ print $14, $15 }' "/proc/$P/stat"; }
# kworkers: user+system ticks of every kernel worker bound to CPU 0.
kworkers() {
  local sum=0 t n
  for t in /proc/[0-9]*; do
    n=$(cat "$t/comm" 2>/dev/null) || continue
    [[ $n == kworker/0:* ]] || continue
    n=$(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null) || continue
    sum=$((sum + n))
  done
  echo $sum
}

sleep 2.5
read -r u0 n0 s0 i0 w0 q0 sq0 st0 <<<"$(cpu0)"; read -r pu0 ps0 <<<"$(proc)"; k0=$(kworkers)
sleep 5
read -r u1 n1 s1 i1 w1 q1 sq1 st1 <<<"$(cpu0)"; read -r pu1 ps1 <<<"$(proc)"; k1=$(kworkers)
wait $L
line=$(tail -1 "$out"); rm -f "$out"
rate=$(sed -n 's/.* \([0-9][0-9]*\) ops\/s.*/\1/p' <<<"$line")
echo "$line"

total=$(( (u1-u0) + (n1-n0) + (s1-s0) + (i1-i0) + (w1-w0) + (q1-q0) + (sq1-sq0) + (st1-st0) ))
# Each part: its share of CPU 0, and CPU 0 microseconds per request.
part() { awk -v name="$1" -v t="$2" -v total="$total" -v rate="$rate" 'BEGIN {
  share = t / total; printf "  %-22s %5.1f%%  %6.1f us/request\n", name, 100 * share, share * 1e6 / rate }'; }
part "server user" $((pu1 - pu0))
part "server system" $((ps1 - ps0))
part "kworker/0:*" $((k1 - k0))
part "irq + softirq" $(( (q1-q0) + (sq1-sq0) ))
part "iowait" $((w1 - w0))
part "idle" $((i1 - i0))
part "other" $(( total - (pu1-pu0) - (ps1-ps0) - (k1-k0) - (q1-q0) - (sq1-sq0) - (w1-w0) - (i1-i0) ))

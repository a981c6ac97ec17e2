#!/usr/bin/env bash
# What each audit fsync asks of the disk: a fresh server on CPU 0
# (GOMAXPROCS=1), the load generator on CPU 1, and over 4 s in the middle
# of an 8-second run the block-layer write requests, cache flushes and
# kilobytes written to DEV, per fsync the server counted
# (keyward_audit_fsyncs_total), with the records per fsync and the mean
# fsync time the server measured.
#
#   bench/blkreqs.sh BIN OP SIZE CONNS [server flags...]
#   DEV=vda bench/blkreqs.sh /tmp/keyward encrypt 32 32
#
# DEV (default: the device holding the temporary data directory) must be
# the disk the audit log is written to. Everything else writing to it
# meanwhile is counted too. Linux only (/sys/block/DEV/stat, Linux 5.5+
# for the flush count).
set -euo pipefail
BIN=$1; OP=$2; SIZE=$3; C=$4; shift 4
source "$(dirname "$0")/lib.sh"
PORT=${PORT:-7995}
DEV=${DEV:-$(lsblk -no pkname "$(df --output=source /tmp | tail -1)" 2>/dev/null || true)}
DEV=${DEV:-$(basename "$(df --output=source /tmp | tail -1)")}
stat=/sys/block/$DEV/stat
[ -r "$stat" ] || { echo "no $stat: set DEV to the disk under /tmp" >&2; exit 1; }
start_server "$BIN" "$PORT" "$@"
loadgen "$PORT" "$OP" "$SIZE" "$C" >/dev/null 2>&1 &
L=$!

# disk: write requests, sectors written, flush requests.
disk() { awk '{ print $5, $7, $16 }' "$stat"; }
# server: fsyncs, records, seconds spent in fsyncs.
server() {
  curl -sf "http://127.0.0.1:$PORT/metrics" | awk '
    /^keyward_audit_fsyncs_total / { f = $2 }
    /^keyward_audit_records_total / { r = $2 }
    /^keyward_audit_fsync_seconds_sum / { s = $2 }
    END { printf "%d %d %.6f\n", f, r, s }'
}

sleep 3
read -r w0 s0 fl0 < <(disk); read -r f0 r0 t0 < <(server)
sleep 4
read -r w1 s1 fl1 < <(disk); read -r f1 r1 t1 < <(server)
wait "$L"
awk -v w=$((w1 - w0)) -v s=$((s1 - s0)) -v fl=$((fl1 - fl0)) -v f=$((f1 - f0)) -v r=$((r1 - r0)) -v t0="$t0" -v t1="$t1" -v dev="$DEV" 'BEGIN {
  if (f == 0) { print "no fsyncs counted (audit writing off?)"; exit 1 }
  printf "%s: %d fsyncs, %.1f records each, mean fsync %.0f us; per fsync %.2f write requests, %.2f flushes, %.1f KiB written\n",
    dev, f, r / f, (t1 - t0) / f * 1e6, w / f, fl / f, s / 2 / f
}'

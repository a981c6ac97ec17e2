#!/usr/bin/env bash
# One measurement: a fresh server on CPU 0 (GOMAXPROCS=1), the load
# generator on CPU 1, one 8-second run after a 1-second warm-up.
#
#   bench/measure.sh BIN OP SIZE CONNS [server flags...]
#   LG_EXTRA="-key-spec RSA_2048" bench/measure.sh /tmp/keyward sign 32 32
#
# BIN is a built keyward binary; the generator is built to /tmp/loadgen.
set -euo pipefail
BIN=$1; OP=$2; SIZE=$3; C=$4; shift 4
source "$(dirname "$0")/lib.sh"
PORT=${PORT:-7995}
start_server "$BIN" "$PORT" "$@"
loadgen "$PORT" "$OP" "$SIZE" "$C" 2>&1 | tail -1

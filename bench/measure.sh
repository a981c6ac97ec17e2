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
here=$(cd "$(dirname "$0")" && pwd)
(cd "$here" && go build -o /tmp/loadgen ./loadgen)
D=$(mktemp -d /tmp/kwm.XXXX)
PORT=${PORT:-7995}
GOMAXPROCS=1 taskset -c 0 "$BIN" server --data-dir "$D" --listen 127.0.0.1:$PORT --log-level warn "$@" >/dev/null 2>&1 &
P=$!
trap 'kill $P 2>/dev/null; wait $P 2>/dev/null; rm -rf "$D"' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
GOMAXPROCS=1 taskset -c 1 /tmp/loadgen -endpoint http://127.0.0.1:$PORT -credentials "$D/credentials" \
  -op "$OP" -size "$SIZE" -c "$C" -d 8s -warmup 1s ${LG_EXTRA:-} 2>&1 | tail -1

# Shared by measure.sh, cpusplit.sh, blkreqs.sh and cycle.sh; source it, don't run it.

# start_server BIN PORT [server flags...] builds the load generator to
# /tmp/loadgen, starts a fresh server on CPU 0 with GOMAXPROCS=1 on an empty
# data directory, and returns once /healthz answers. It sets D (the data
# directory) and P (the server's PID), and an EXIT trap that stops the
# server and removes D.
start_server() {
  local bin=$1 port=$2
  shift 2
  (cd "$(dirname "${BASH_SOURCE[0]}")" && go build -o /tmp/loadgen ./loadgen)
  D=$(mktemp -d /tmp/kwm.XXXX)
  GOMAXPROCS=1 taskset -c 0 "$bin" server --data-dir "$D" --listen 127.0.0.1:$port --log-level warn "$@" >/dev/null 2>&1 &
  P=$!
  trap 'kill $P 2>/dev/null; wait $P 2>/dev/null; rm -rf "$D"' EXIT
  for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
}

# loadgen PORT OP SIZE CONNS runs the generator on CPU 1 against the server
# start_server started, for 8 s after a 1-second warm-up. LG_EXTRA adds
# flags.
loadgen() {
  GOMAXPROCS=1 taskset -c 1 /tmp/loadgen -endpoint http://127.0.0.1:$1 -credentials "$D/credentials" \
    -op "$2" -size "$3" -c "$4" -d 8s -warmup 1s ${LG_EXTRA:-}
}

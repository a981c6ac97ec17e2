#!/usr/bin/env bash
# run.sh runs Keyward's standard throughput measurement: Encrypt 32 B,
# Encrypt 4 KiB, Decrypt and GenerateDataKey, each for DURATION with CONNS
# connections, against a server pinned to CPU SERVER_CPU with GOMAXPROCS=1
# while the generator runs pinned to CPU GEN_CPU. It prints one line per
# operation and stops the server it started when it ends, however it ends.
#
#   bench/run.sh                 # the standard run
#   DURATION=3s JSON=1 bench/run.sh
#   KEYWARD_BIN=/tmp/keyward bench/run.sh   # a server already built
#   SERVER_FLAGS=--insecure-benchmark-audit-no-fsync bench/run.sh
set -euo pipefail

: "${DATA_DIR:=/tmp/kw-bench}"
: "${LISTEN:=127.0.0.1:7878}"
: "${DURATION:=10s}"
: "${WARMUP:=1s}"
: "${CONNS:=32}"
: "${SERVER_CPU:=0}"
: "${GEN_CPU:=1}"
: "${JSON:=}"
: "${IDLE_WAIT:=60}"
: "${SERVER_GOMAXPROCS:=1}"
: "${SERVER_FLAGS:=}"
# Every request leaves about 1 KB of audit log, and the server reads the
# whole log when it starts, so by default the benchmark's own data directory
# starts empty each time. FRESH=0 keeps it; another DATA_DIR is never wiped
# unless FRESH=1 says so.
if [[ $DATA_DIR == /tmp/kw-bench ]]; then : "${FRESH:=1}"; else : "${FRESH:=0}"; fi

bench=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$bench")
bin=$(mktemp -d /tmp/kw-bench-bin.XXXXXX)
server_pid=

cleanup() {
	if [[ -n $server_pid ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$bin"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n ${KEYWARD_BIN:-} ]]; then
	cp "$KEYWARD_BIN" "$bin/keyward"
else
	(cd "$repo" && go build -o "$bin/keyward" ./cmd/keyward)
fi
(cd "$bench" && go build -o "$bin/loadgen" ./loadgen)

host=${LISTEN%:*} port=${LISTEN##*:}
if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
	echo "run.sh: something already listens on $LISTEN; stop it or set LISTEN" >&2
	exit 1
fi

if [[ $FRESH == 1 ]]; then
	rm -rf -- "$DATA_DIR"
fi
mkdir -p "$DATA_DIR"
GOMAXPROCS=$SERVER_GOMAXPROCS taskset -c "$SERVER_CPU" "$bin/keyward" server \
	--data-dir "$DATA_DIR" --listen "$LISTEN" --log-level warn $SERVER_FLAGS 2>"$bin/server.log" &
server_pid=$!

# Wait (at most 120 s: start-up reads the audit log) for the health check
# and the credentials file.
for _ in $(seq 1200); do
	if curl -fsS "http://$LISTEN/healthz" >/dev/null 2>&1 && [[ -s $DATA_DIR/credentials ]]; then
		break
	fi
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "run.sh: server exited:" >&2
		cat "$bin/server.log" >&2
		server_pid=
		exit 1
	fi
	sleep 0.1
done
curl -fsS "http://$LISTEN/healthz" >/dev/null || { echo "run.sh: server not healthy after 120s" >&2; exit 1; }

# server_cpu prints the server's user+system CPU time so far, in clock ticks.
server_cpu() {
	local stat
	stat=$(<"/proc/$server_pid/stat")
	stat=${stat##*) } # fields after the command name, which may hold spaces
	set -- $stat
	echo $((${12} + ${13})) # utime and stime: fields 14 and 15 of the whole line
}
# children_cpu prints the CPU time of this shell's finished children (the
# loadgen runs), in clock ticks.
children_cpu() {
	local stat
	stat=$(<"/proc/$$/stat")
	stat=${stat##*) }
	set -- $stat
	echo $((${14} + ${15})) # cutime and cstime: fields 16 and 17
}
# machine_cpu prints the user, nice and system time of all CPUs, in ticks.
machine_cpu() {
	local _ user nice system
	read -r _ user nice system _ </proc/stat
	echo $((user + nice + system))
}
# wait_idle waits up to IDLE_WAIT seconds for a second in which the machine
# is at most 10% busy, so that other work does not skew the measurement.
wait_idle() {
	local m0 m1 i
	for ((i = 0; i < IDLE_WAIT; i++)); do
		m0=$(machine_cpu)
		sleep 1
		m1=$(machine_cpu)
		(((m1 - m0) * 100 / hz <= 10)) && return 0
	done
	((IDLE_WAIT == 0)) || echo "# warning: machine still busy after ${IDLE_WAIT}s; see others= below" >&2
}
hz=$(getconf CLK_TCK)

echo "# keyward bench: server on CPU $SERVER_CPU (GOMAXPROCS=$SERVER_GOMAXPROCS${SERVER_FLAGS:+ $SERVER_FLAGS}), loadgen on CPU $GEN_CPU, c=$CONNS, d=$DURATION, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for run in "encrypt 32" "encrypt 4096" "decrypt 32" "generate-data-key 32"; do
	set -- $run
	wait_idle
	t0=$(date +%s%N) c0=$(server_cpu) g0=$(children_cpu) m0=$(machine_cpu)
	out=$(GOMAXPROCS=1 taskset -c "$GEN_CPU" "$bin/loadgen" \
		-endpoint "http://$LISTEN" -credentials "$DATA_DIR/credentials" \
		-op "$1" -size "$2" -c "$CONNS" -d "$DURATION" -warmup "$WARMUP" ${JSON:+-json}) || status=1
	t1=$(date +%s%N) c1=$(server_cpu) g1=$(children_cpu) m1=$(machine_cpu)
	# CPU use over the whole loadgen run (warm-up included), in % of one CPU:
	# the server's, and that of everything else on the machine but the
	# generator. others well above 0 means the figures are not clean.
	pct=$(((c1 - c0) * 100 * 1000000000 / hz / (t1 - t0 + 1)))
	others=$((((m1 - m0) - (c1 - c0) - (g1 - g0)) * 100 * 1000000000 / hz / (t1 - t0 + 1)))
	((others < 0)) && others=0
	if [[ -n $JSON ]]; then
		echo "${out%\}},\"server_cpu_pct\":$pct,\"others_cpu_pct\":$others}"
	else
		echo "$out server_cpu=$pct% others=$others%"
	fi
done
exit $status

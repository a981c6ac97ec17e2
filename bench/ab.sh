#!/usr/bin/env bash
# Paired comparison of server configurations, robust to a machine whose
# speed drifts over minutes: every configuration runs as its own server at
# the same time (idle ones cost nothing), and the load generator takes them
# in turn, ROUNDS times, for 3 s each after 0.5 s of warm-up. Each round
# gives each configuration's rate as a ratio to the last configuration's,
# measured seconds apart; the summary is the median ratio.
#
#   bench/ab.sh ROUNDS OP CONNS "CONFIG" "CONFIG" ...
#   bench/ab.sh 10 encrypt 128 "/tmp/kw server" "/tmp/kw server --insecure-benchmark-audit-no-fsync"
#
# CONNS may be a list (32,128,256): each configuration is then measured at
# each concurrency in every round, and a further line compares peak rates,
# each configuration's best over the list, round by round.
#
# It also prints each configuration's server CPU time (user + system) per
# request, from /proc/PID/stat and the server's audit record count.
#
# A CONFIG is a command line that starts a server; --data-dir and --listen
# are added. PIN=1 (the default) puts the servers on CPU 0 with GOMAXPROCS=1
# and the generator on CPU 1; PIN=0 lets everything share every core.
set -euo pipefail
R=$1; OP=$2; C=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
(cd "$here" && go build -o /tmp/loadgen ./loadgen)
srv=(); gen=()
if [ "${PIN:-1}" = 1 ]; then srv=(env GOMAXPROCS=1 taskset -c 0); gen=(env GOMAXPROCS=1 taskset -c 1); fi
pids=(); ports=(); dirs=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "${dirs[@]}"
}
trap cleanup EXIT
for cfg in "$@"; do
	d=$(mktemp -d /tmp/kwab.XXXX); port=$((20000 + RANDOM % 20000))
	# shellcheck disable=SC2086 # CONFIG is a command line
	"${srv[@]}" $cfg --data-dir "$d" --listen 127.0.0.1:$port --log-level warn >/dev/null 2>&1 &
	pids+=($!); ports+=($port); dirs+=("$d")
done
for i in "${!ports[@]}"; do
	for _ in $(seq 50); do curl -sf "http://127.0.0.1:${ports[$i]}/healthz" >/dev/null && break; sleep 0.1; done
done
out=$(mktemp /tmp/kwab.out.XXXX); cpuout=$(mktemp /tmp/kwab.cpu.XXXX); dirs+=("$out" "$cpuout")
IFS=, read -r -a conns <<<"$C"
# The server's CPU time (user + system, in clock ticks) and the audit records
# it has written: one per request, warm-up included.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
records() { curl -sf "http://127.0.0.1:$1/metrics" | awk '/^keyward_audit_records_total / {print $2}'; }
hz=$(getconf CLK_TCK)
for r in $(seq "$R"); do
	line="round $r:"
	# Concurrency by concurrency, so that the configurations compared at one
	# concurrency run seconds apart; the line lists them configuration by
	# configuration.
	vals=(); cpus=()
	for j in "${!conns[@]}"; do
		c=${conns[$j]}
		for i in "${!ports[@]}"; do
			k=$((i * ${#conns[@]} + j))
			t0=$(ticks "${pids[$i]}"); n0=$(records "${ports[$i]}")
			vals[$k]=$("${gen[@]}" /tmp/loadgen -endpoint "http://127.0.0.1:${ports[$i]}" -credentials "${dirs[$i]}/credentials" \
				-op "$OP" -size 32 -c "$c" -d 3s -warmup 500ms 2>&1 | tail -1 | awk '{print $4}')
			t1=$(ticks "${pids[$i]}"); n1=$(records "${ports[$i]}")
			cpus[$k]=$(awk -v t=$((t1 - t0)) -v n0="$n0" -v n1="$n1" -v hz="$hz" 'BEGIN {n = n1 - n0; printf("%.1f", (n > 0) ? t * 1e6 / hz / n : 0)}')
		done
	done
	line="$line ${vals[*]}"
	echo "$line" | tee -a "$out"
	echo "round $r: ${cpus[*]}" >>"$cpuout"
done
# Median over the rounds of a ratio, one line per ratio.
summary() {
	sort -n | awk -v what="$1" '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%s: median %.3f, min %.3f, max %.3f over %d rounds\n", what, m, v[1], v[NR], NR}'
}
n=$#; k=${#conns[@]}
for i in $(seq 1 $((n - 1))); do
	for j in $(seq 0 $((k - 1))); do
		# Field of config i (1-based) at concurrency j: 2 label fields, then k per config.
		awk -v a=$((2 + (i - 1) * k + j + 1)) -v b=$((2 + (n - 1) * k + j + 1)) '{print $a / $b}' "$out" |
			summary "config $i / config last, c=${conns[$j]}"
	done
	if [ "$k" -gt 1 ]; then
		# Peak rate: each configuration's best rate over the concurrencies, per round.
		awk -v i="$i" -v n="$n" -v k="$k" 'function peak(c,   m, x, j) {
				m = 0; for (j = 1; j <= k; j++) { x = $(2 + (c - 1) * k + j); if (x > m) m = x }; return m }
			{print peak(i) / peak(n)}' "$out" | summary "config $i / config last, peak over c=$C"
	fi
done
# The server's CPU time per request (user + system, warm-up included),
# median over the rounds, for each configuration.
for i in $(seq 1 "$n"); do
	for j in $(seq 0 $((k - 1))); do
		awk -v a=$((2 + (i - 1) * k + j + 1)) '{print $a}' "$cpuout" | sort -n |
			awk -v what="config $i, c=${conns[$j]}" '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
				printf "%s: server CPU per request: median %.1f us, min %.1f, max %.1f\n", what, m, v[1], v[NR]}'
	done
done

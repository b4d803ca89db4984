#!/usr/bin/env bash
# bench/statsd/run.sh - StatsD receive throughput and loss under overload.
#
#   bench/statsd/run.sh [--smoke] [SCOREBOARD_BINARY [RESULTS_MD]]
#
# For each run: starts a fresh `scoreboard serve --statsd 127.0.0.1:0`
# (pinned to the last CPU when there are two or more), floods it with
# statsd_flood (UDP, LINES lines per datagram, as fast as sendmmsg goes,
# pinned to the other CPUs) for DURATION seconds, reads the server's
# self-metrics when the flood ends and once they stop growing, and stops
# the server. Figures per run:
#   received/s   scoreboard_statsd_packets_received_total at the end of
#                the flood / DURATION (what the receiver kept up with)
#   loss         1 - received (after the socket buffer drained) / sent
#   kernel drops scoreboard_statsd_dropped_packets_total{reason="kernel"}
# The table (median [min-max] over the runs) goes to stdout and, when
# RESULTS_MD is given, is appended to that file.
#
# Called by bench/run.sh (`make bench`, `make bench-smoke`). Settings:
# BENCH_RUNS (3; 1 with --smoke), BENCH_STATSD_DURATION seconds (5; 1),
# BENCH_STATSD_LINES lines per datagram (10).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SMOKE=0
if [ "${1:-}" = --smoke ]; then
	SMOKE=1
	shift
fi
BIN=${1:-$ROOT/build-bench/scoreboard}
OUT_MD=${2:-}
if [ $SMOKE -eq 1 ]; then
	RUNS=${BENCH_RUNS:-1} DURATION=${BENCH_STATSD_DURATION:-1}
else
	RUNS=${BENCH_RUNS:-3} DURATION=${BENCH_STATSD_DURATION:-5}
fi
LINES=${BENCH_STATSD_LINES:-10}
NCPU=$(nproc)
PIN_SERVER=() PIN_LOAD=()
if [ "$NCPU" -ge 2 ]; then
	PIN_SERVER=(taskset -c $((NCPU - 1)))
	PIN_LOAD=(taskset -c 0-$((NCPU - 2)))
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sb-statsd-bench.XXXXXX")
SRV_PID=
cleanup() {
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '%s statsd-bench: %s\n' "$(date -u +%T)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

[ -x "$BIN" ] || die "no scoreboard binary at $BIN (run make bench)"
${CC:-cc} -O2 -o "$WORK/statsd_flood" "$ROOT/bench/statsd/statsd_flood.c" ||
	die "statsd_flood build"

# value NAME [LABEL_QUERY_PATTERN]: the newest value of a self-metric.
value() {
	curl -sf "$URL/metrics?name=$1&latest=true" |
		sed -n 's/.*"value":\([0-9.e+]*\).*/\1/p' | head -1
}

start() {
	local i
	"${PIN_SERVER[@]}" "$BIN" serve --listen 127.0.0.1:0 --statsd 127.0.0.1:0 \
		--interval 200ms --no-process --no-system 2>"$WORK/server.log" &
	SRV_PID=$!
	for i in $(seq 100); do
		HTTP=$(sed -n 's/.* listening address=127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/server.log")
		SPORT=$(sed -n 's/.*statsd_listening address=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$WORK/server.log")
		[ -n "$HTTP" ] && [ -n "$SPORT" ] && break
		sleep 0.1
	done
	[ -n "$SPORT" ] || { cat "$WORK/server.log" >&2 && die "server did not start"; }
	URL=http://127.0.0.1:$HTTP
}

stop() {
	kill "$SRV_PID" && wait "$SRV_PID" || true
	SRV_PID=
}

# Polls the received counter until two reads 0.5 s apart agree.
settled_received() {
	local prev=-1 cur i
	for i in $(seq 40); do
		sleep 0.5
		cur=$(value scoreboard_statsd_packets_received_total)
		[ "$cur" = "$prev" ] && echo "$cur" && return 0
		prev=$cur
	done
	echo "$cur"
}

run_once() {
	local out sent secs at_end final kernel
	start
	sleep 0.3
	out=$("${PIN_LOAD[@]}" "$WORK/statsd_flood" "$SPORT" "$DURATION" "$LINES")
	sleep 0.25 # one flush interval: the counter as of the flood's end
	at_end=$(value scoreboard_statsd_packets_received_total)
	final=$(settled_received)
	kernel=$(curl -sf "$URL/metrics?name=scoreboard_statsd_dropped_packets_total&latest=true" |
		sed -n 's/.*"value":\([0-9.e+]*\).*/\1/p' | head -1)
	stop
	sent=$(sed -n 's/.*sent_packets=\([0-9]*\).*/\1/p' <<<"$out")
	secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")
	[ -n "$sent" ] && [ "$sent" -gt 0 ] && [ -n "$final" ] || die "no figures: $out"
	awk -v s="$sent" -v t="$secs" -v e="$at_end" -v f="$final" -v k="$kernel" \
		-v l="$LINES" 'BEGIN { printf "%.0f %.0f %.0f %.3f %.0f\n",
		s / t, e / t, e * l / t, 100 * (1 - f / s), k }'
}

# median / min / max of column C of the rows file.
stat() {
	cut -d' ' -f"$1" "$WORK/rows" | sort -g | awk '{ v[NR] = $1 }
		END { printf "%s [%s–%s]", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

log "runs=$RUNS duration=${DURATION}s lines/datagram=$LINES"
: >"$WORK/rows"
for i in $(seq "$RUNS"); do
	run_once >>"$WORK/rows"
	log "run $i: $(tail -1 "$WORK/rows") (sent/s received/s lines/s loss% kernel_drops)"
done
{
	echo
	echo "### StatsD receive (UDP, $LINES lines per datagram, median [min–max] of $RUNS run(s), ${DURATION}s flood each)"
	echo
	echo "| figure | value |"
	echo "|---|---|"
	echo "| datagrams sent/s (statsd_flood, sendmmsg) | $(stat 1) |"
	echo "| datagrams received/s during the flood | $(stat 2) |"
	echo "| lines received/s during the flood | $(stat 3) |"
	echo "| loss at this overload, % of datagrams sent | $(stat 4) |"
	echo "| kernel drops counted (SO_RXQ_OVFL) | $(stat 5) |"
} | tee -a "${OUT_MD:-/dev/null}"

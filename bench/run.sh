#!/usr/bin/env bash
# bench/run.sh - scoreboard side by side with the Go peer and
# VictoriaMetrics on this machine (`make bench`, `make bench-smoke`).
#
#   bench/run.sh [WORKLOAD...]          full run, BENCH_RUNS runs each
#   bench/run.sh --smoke [WORKLOAD...]  each workload once for about 1 s
#
# WORKLOAD is read, ingest, healthz, memory, contention, collectors,
# store, query or dashboard; none means all of them (and only then must
# every row of the table have figures, and bench/statsd/run.sh adds the
# StatsD figures). store (bench/store_bench.c: the store's own bytes per
# sample and append rate) and query (bench/query_bench.c) print their own
# figures beside the table, not in it. dashboard (bench/dashboard.sh)
# measures page weight, time to first chart in headless Chromium and the
# server CPU of live updates.
#
# Builds an optimized scoreboard (build-bench/), the Go peer and the
# helper benchtool, then for each workload and run starts a fresh server
# on 127.0.0.1 (port 0, or a free port for VictoriaMetrics) with its data
# under one mktemp -d directory, drives it with wrk (Lua scripts in
# bench/wrk/), curl and benchtool, and stops it. Every server, wrk and
# curl it starts is killed on exit. Raw figures go to $WORK/raw.tsv;
# benchtool report prints the table and writes
# bench/results/<UTC time>.{json,md}. Any workload that fails to produce
# a figure stops the run with a non-zero exit.
#
# Settings (environment): BENCH_DURATION seconds per wrk run (5),
# BENCH_RUNS runs per figure (3), BENCH_IDLE seconds of the idle-CPU
# window (20), BENCH_MEM_BATCHES 1,000-point batches for the memory
# workload (1000, i.e. 1M points), BENCH_CONNS wrk connections (4),
# BENCH_BUILD build directory (build-bench).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build-bench}
ALL_WORKLOADS=(read ingest healthz memory contention collectors store
	query dashboard)
SMOKE=0
if [ "${1:-}" = --smoke ]; then
	SMOKE=1
	shift
fi
WORKLOADS=("$@")
[ $# -gt 0 ] || WORKLOADS=("${ALL_WORKLOADS[@]}")
for w in "${WORKLOADS[@]}"; do
	case " ${ALL_WORKLOADS[*]} " in
	*" $w "*) ;;
	*)
		echo "usage: bench/run.sh [--smoke] [${ALL_WORKLOADS[*]}]" >&2
		exit 2
		;;
	esac
done
if [ $SMOKE -eq 1 ]; then
	DURATION=${BENCH_DURATION:-1} RUNS=${BENCH_RUNS:-1}
	IDLE=${BENCH_IDLE:-2} MEM_BATCHES=${BENCH_MEM_BATCHES:-100}
else
	DURATION=${BENCH_DURATION:-5} RUNS=${BENCH_RUNS:-3}
	IDLE=${BENCH_IDLE:-20} MEM_BATCHES=${BENCH_MEM_BATCHES:-1000}
fi
CONNS=${BENCH_CONNS:-4}
WRITER_DELAY_MS=10 # the contention writer's pause between requests
NCPU=$(nproc)
HZ=$(getconf CLK_TCK)

# Servers get the last CPU, load generators the others, so neither steals
# the other's core. The Go runtime sizes GOMAXPROCS from the affinity
# mask, so the Go peer and VictoriaMetrics also get one core.
if [ "$NCPU" -ge 2 ]; then
	SERVER_CPU=$((NCPU - 1))
	LOAD_CPUS=0
	[ "$NCPU" -gt 2 ] && LOAD_CPUS=0-$((NCPU - 2))
	PIN_SERVER=(taskset -c "$SERVER_CPU")
	PIN_LOAD=(taskset -c "$LOAD_CPUS")
	PINNING="servers pinned to CPU $SERVER_CPU, load generators (wrk, curl, benchtool) to CPU $LOAD_CPUS with taskset; the Go peer and VictoriaMetrics therefore run with GOMAXPROCS=1"
else
	PIN_SERVER=() PIN_LOAD=()
	PINNING="one CPU: nothing pinned"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench.XXXXXX")
RAW=$WORK/raw.tsv
PIDS=() # every process started in the background, killed on exit
SEQ=0   # numbers log files and data directories

log() { printf '%s bench: %s\n' "$(date -u +%T)" "$*" >&2; }
die() {
	log "FAILED: $*"
	exit 1
}

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		stop_pid "$pid" # SIGKILL for one that ignores SIGTERM
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() {
	local keep=() p
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# stop_pid PID: SIGTERM, up to 10 s to exit, then SIGKILL.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	forget_pid "$pid"
}

calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }

record() { printf 'result\t%s\t%s\t%s%s\n' "$1" "$2" "$3" "${4:+	$4}" >>"$RAW"; }
meta() { printf 'meta\t%s\t%s\n' "$1" "$2" >>"$RAW"; }

# ------------------------------------------------------------------ build

go_build() { # SRC_DIR OUTPUT: standard library only, nothing downloaded
	(cd "$ROOT/$1" && env -u GOTOOLCHAIN GOPROXY=off GOFLAGS= \
		GOCACHE="$BUILD/go/cache" GOPATH="$BUILD/go/path" \
		go build -o "$2" .)
}

build() {
	local t
	for t in wrk go victoria-metrics curl taskset cmake; do
		command -v "$t" >/dev/null ||
			die "$t not found: run scripts/install-deps.sh bench"
	done
	log "building optimized scoreboard in $BUILD"
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSB_TESTS=OFF \
		-DCMAKE_C_COMPILER=gcc >/dev/null
	cmake --build "$BUILD" --target scoreboard store_bench -j "$NCPU" >"$WORK/build.log" 2>&1 ||
		{ tail -20 "$WORK/build.log" >&2 && die "scoreboard build"; }
	go_build bench/peers/goserver "$BUILD/goserver" || die "Go peer build"
	go_build bench/tool "$BUILD/benchtool" || die "benchtool build"
}

# ---------------------------------------------------------------- servers
# start_server SYSTEM MODE sets SRV_PID, SRV_URL and SRV_DIR. MODE "plain"
# turns scoreboard's collectors off (they would grow the data set during
# throughput runs); "default" runs it as shipped.

wait_listening() { # LOGFILE PID: prints the port the server logged
	local i port
	for i in $(seq 100); do
		port=$(sed -n 's/^\(.* \)\{0,1\}listening address=127\.0\.0\.1:\([0-9]\{1,5\}\)$/\2/p' "$1" | head -1)
		[ -n "$port" ] && echo "$port" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	cat "$1" >&2
	return 1
}

start_logged() { # LOGFILE COMMAND...: a server that logs its port
	local logf=$1
	shift
	"${PIN_SERVER[@]}" "$@" 2>"$logf" &
	SRV_PID=$!
	PIDS+=("$SRV_PID")
	SRV_URL=http://127.0.0.1:$(wait_listening "$logf" "$SRV_PID") ||
		die "$1 did not start"
}

start_vm() {
	local try port i
	for try in 1 2 3; do
		port=$("$BUILD/benchtool" freeport)
		"${PIN_SERVER[@]}" victoria-metrics -httpListenAddr="127.0.0.1:$port" \
			-storageDataPath="$SRV_DIR" -loggerLevel=ERROR \
			>"$WORK/vm-$SEQ.log" 2>&1 &
		SRV_PID=$!
		PIDS+=("$SRV_PID")
		SRV_URL=http://127.0.0.1:$port
		for i in $(seq 150); do
			curl -sf "$SRV_URL/health" >/dev/null 2>&1 && return 0
			kill -0 "$SRV_PID" 2>/dev/null || break
			sleep 0.1
		done
		stop_pid "$SRV_PID" # lost the port race, or too slow: retry
	done
	cat "$WORK/vm-$SEQ.log" >&2
	die "victoria-metrics did not start"
}

start_server() {
	SEQ=$((SEQ + 1))
	LOAD_BASE=$(($(date +%s) - 1800)) # batch 0 of benchtool's data
	SRV_DIR=$WORK/data-$SEQ
	mkdir -p "$SRV_DIR"
	case "$1/$2" in
	scoreboard/plain)
		start_logged "$WORK/sb-$SEQ.log" "$BUILD/scoreboard" serve \
			--listen 127.0.0.1:0 --log-level info \
			--no-process --no-system --interval 1h ;;
	scoreboard/default)
		start_logged "$WORK/sb-$SEQ.log" "$BUILD/scoreboard" serve \
			--listen 127.0.0.1:0 --log-level info \
			--max-series 10000 --max-points 10000 ;;
	go/*)
		start_logged "$WORK/go-$SEQ.log" "$BUILD/goserver" \
			-listen 127.0.0.1:0 ;;
	vm/*) start_vm ;;
	*) die "unknown system $1" ;;
	esac
}

stop_server() { stop_pid "$SRV_PID"; }

# ----------------------------------------------------------- measurements

rss_bytes() { # PID
	awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"
}

pss_bytes() { # PID: proportional set size (shared pages split among users)
	awk '/^Pss:/ { print $2 * 1024 }' "/proc/$1/smaps_rollup"
}

cpu_ticks() { # PID: utime + stime of all threads, in clock ticks
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

cpu_ns() { # PID: time on CPU of its live threads, in ns (schedstat)
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { printf "%d", n }'
}

base_ms() { echo $((($(date +%s) - 1800) * 1000)); } # 30 min ago

# load SYSTEM FIRST BATCHES: benchtool's data set, 1,000 points a batch.
load() {
	local fmt=json path=/metrics
	[ "$1" = vm ] && fmt=import path=/api/v1/import
	"${PIN_LOAD[@]}" "$BUILD/benchtool" load -url "$SRV_URL$path" \
		-format $fmt -first "$2" -batches "$3" -base "$LOAD_BASE" ||
		die "loading $1"
}

# wrk_run ARGS...: runs wrk on the load CPUs and sets WRK (its result
# line) and SRV_CPU (CPU-seconds the server used meanwhile); the full
# output stays in $WORK for a post-mortem.
wrk_run() {
	SEQ=$((SEQ + 1))
	local out=$WORK/wrk-$SEQ.out t0
	t0=$(cpu_ticks "$SRV_PID")
	"${PIN_LOAD[@]}" wrk "$@" >"$out" 2>&1 || {
		cat "$out" >&2
		die "wrk $*"
	}
	SRV_CPU=$(calc "($(cpu_ticks "$SRV_PID") - $t0) / $HZ")
	WRK=$(grep '^wrk-result ' "$out") || die "wrk printed no result: $out"
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# wrk_ok WHAT: a run that answered every request with 2xx and did some.
wrk_ok() {
	local req st so
	req=$(field requests "$WRK") st=$(field status_errors "$WRK")
	so=$(field socket_errors "$WRK")
	[ "$req" -gt 0 ] || die "$1: no request completed"
	[ "$st" -eq 0 ] || die "$1: $st non-2xx answers"
	[ "$so" -eq 0 ] || log "$1: $so socket errors (ignored)"
}

rate() { calc "$(field requests "$WRK") / $(field seconds "$WRK")"; }

# record_rate KEY SYSTEM [MULTIPLIER]: the rate of the last wrk run, and
# beside it how busy the server's core was (KEY:cpu, 1 = one core).
record_rate() {
	record "$1" "$2" "$(calc "$(rate) * ${3:-1}")"
	record "$1:cpu" "$2" "$(calc "$SRV_CPU / $(field seconds "$WRK")")"
}

# record_capacity KEY SYSTEM: requests per CPU-second of the server, what
# one saturated core would serve when the load generator is the limit.
record_capacity() {
	awk "BEGIN { exit !($SRV_CPU > 0) }" || die "$1: server used no CPU"
	record "$1" "$2" "$(calc "$(field requests "$WRK") / $SRV_CPU")"
}

wrk_get() { # URL
	wrk_run -t1 -c"$CONNS" -d"$DURATION" -s "$ROOT/bench/wrk/get.lua" "$1"
}

wrk_post() { # URL FORMAT POINTS
	wrk_run -t1 -c"$CONNS" -d"$DURATION" -s "$ROOT/bench/wrk/post.lua" \
		"$1" -- "$2" "$3" "$(base_ms)" 1
}

# ---------------------------------------------------------------- workloads

# 1. GET /metrics with 1k, 10k and 100k points: one server per run and
# system, loaded up step by step.
w_read() {
	local run sys n have=0 got
	for run in $(seq "$RUNS"); do
		for sys in scoreboard go; do
			start_server $sys plain
			have=0
			for n in 1 10 100; do
				load $sys $have $((n - have))
				have=$n
				got=$(curl -sf "$SRV_URL/metrics" | grep -o '"name":' | wc -l)
				[ "$got" -ge $((n * 1000)) ] ||
					die "$sys holds $got points, expected $((n * 1000))"
				wrk_get "$SRV_URL/metrics"
				wrk_ok "read ${n}k $sys"
				record_rate read_${n}k_rps $sys
				record read_${n}k_mbps $sys "$(calc "$(field bytes "$WRK") / $(field seconds "$WRK") / 1e6")"
			done
			stop_server
		done
	done
	log "read done"
}

# 2. Ingest: 1,000-point batches and single points, a fresh server each;
# VictoriaMetrics also through its Influx endpoint.
w_ingest() {
	local run sys fmt path
	for run in $(seq "$RUNS"); do
		for sys in scoreboard go vm; do
			fmt=json path=/metrics
			[ $sys != vm ] || fmt=import path=/api/v1/import

			start_server $sys plain
			wrk_post "$SRV_URL$path" $fmt 1000
			wrk_ok "ingest batches $sys"
			record_rate ingest_batch_pps $sys 1000
			stop_server

			start_server $sys plain
			wrk_post "$SRV_URL$path" $fmt 1
			wrk_ok "ingest single $sys"
			record_rate ingest_single_rps $sys
			record_capacity ingest_single_per_cpu_s $sys
			stop_server
		done
		start_server vm plain
		wrk_post "$SRV_URL/write" influx 1000
		wrk_ok "ingest influx vm"
		record_rate ingest_batch_influx_pps vm 1000
		stop_server
	done
	log "ingest done"
}

# 3. Bare HTTP.
w_healthz() {
	local run sys path
	for run in $(seq "$RUNS"); do
		for sys in scoreboard go vm; do
			start_server $sys plain
			path=/healthz
			[ $sys = vm ] && path=/health
			wrk_get "$SRV_URL$path"
			wrk_ok "healthz $sys"
			record_rate healthz_rps $sys
			record_capacity healthz_per_cpu_s $sys
			stop_server
		done
	done
	log "healthz done"
}

# 4. Memory: idle RSS 2 s after start, then RSS growth per point after
# loading MEM_BATCHES batches; VictoriaMetrics also on disk after a flush.
w_memory() {
	local run sys idle after points=$((MEM_BATCHES * 1000)) got
	for run in $(seq "$RUNS"); do
		for sys in scoreboard go vm; do
			start_server $sys default
			sleep 2
			idle=$(rss_bytes "$SRV_PID")
			record idle_rss_bytes $sys "$idle"
			record idle_pss_bytes $sys "$(pss_bytes "$SRV_PID")"
			load $sys 0 "$MEM_BATCHES"
			case $sys in
			scoreboard)
				got=$("$BUILD/benchtool" count -url "$SRV_URL/api/v1/series")
				[ "$got" -eq $points ] || die "scoreboard holds $got of $points points" ;;
			vm) vm_flush $points ;;
			esac
			sleep 1
			after=$(rss_bytes "$SRV_PID")
			record mem_bytes_per_point $sys "$(calc "($after - $idle) / $points")"
			if [ $sys = vm ]; then
				record mem_vm_disk_bytes_per_point vm \
					"$(calc "$(du -sb "$SRV_DIR" | cut -f1) / $points")"
			fi
			stop_server
		done
	done
	log "memory done"
}

# vm_flush POINTS: asks VictoriaMetrics to write what it buffers, then
# waits until the parts on disk hold every row: the flush finishes in the
# background seconds later. A part is a directory named
# ROWS_BLOCKS_MINTIME_MAXTIME_ID under data/{small,big}/PARTITION/.
vm_flush() {
	local i rows=0
	curl -sf "$SRV_URL/internal/force_flush" >/dev/null || die "vm force_flush"
	for i in $(seq 600); do
		rows=$(find "$SRV_DIR/data/small" "$SRV_DIR/data/big" -mindepth 2 \
			-maxdepth 2 -type d -name '[0-9]*_[0-9]*_*' -printf '%f\n' |
			awk -F_ '{ n += $1 } END { printf "%d", n }')
		[ "$rows" -ge "$1" ] && return 0
		sleep 0.1
	done
	die "vm has $rows of $1 rows on disk 60 s after force_flush"
}

# The paced single-point writer; sets WRITER_P50/P99 (us) or, when it
# completed nothing in the window, both to the window as a lower bound.
writer() {
	wrk_run -t1 -c1 -d"$DURATION" --latency --timeout 120s \
		-s "$ROOT/bench/wrk/writer.lua" "$SRV_URL/metrics" -- \
		json 1 "$(base_ms)" 1 "$WRITER_DELAY_MS"
	WRITER_BOUND=
	if [ "$(field requests "$WRK")" -eq 0 ]; then
		WRITER_P50=$((DURATION * 1000000)) WRITER_P99=$WRITER_P50
		WRITER_BOUND=">="
		return
	fi
	wrk_ok "$1"
	WRITER_P50=$(field p50_us "$WRK") WRITER_P99=$(field p99_us "$WRK")
}

# 5. Writer latency alone, beside 8 readers of 10k points, and beside one
# slow reader of 100k points.
w_contention() {
	local run sys rpid rout cpid
	for run in $(seq "$RUNS"); do
		for sys in scoreboard go; do
			start_server $sys plain
			load $sys 0 10
			writer "writer alone $sys"
			record writer_p50_alone_us $sys "$WRITER_P50"
			record writer_p99_alone_us $sys "$WRITER_P99"

			SEQ=$((SEQ + 1))
			rout=$WORK/readers-$SEQ.out
			"${PIN_LOAD[@]}" wrk -t1 -c8 -d$((DURATION + 2)) \
				-s "$ROOT/bench/wrk/get.lua" "$SRV_URL/metrics" >"$rout" 2>&1 &
			rpid=$!
			PIDS+=("$rpid")
			sleep 1
			writer "writer with readers $sys"
			wait "$rpid" || die "readers' wrk failed: $(cat "$rout")"
			forget_pid "$rpid"
			WRK=$(grep '^wrk-result ' "$rout") || die "readers: no result"
			wrk_ok "readers $sys"
			record writer_p50_readers_us $sys "$WRITER_P50" "$WRITER_BOUND"
			record writer_p99_readers_us $sys "$WRITER_P99" "$WRITER_BOUND"
			stop_server

			start_server $sys plain
			load $sys 0 100
			"${PIN_LOAD[@]}" curl -s --limit-rate 1k -o /dev/null \
				"$SRV_URL/metrics" &
			cpid=$!
			PIDS+=("$cpid")
			sleep 1
			writer "writer with slow reader $sys"
			kill -0 "$cpid" 2>/dev/null || die "the slow reader ended early"
			stop_pid "$cpid"
			record writer_p50_slow_us $sys "$WRITER_P50" "$WRITER_BOUND"
			record writer_p99_slow_us $sys "$WRITER_P99" "$WRITER_BOUND"
			stop_server
		done
	done
	log "contention done"
}

# 6. Collector cost: RUNS idle scoreboards side by side (idle, so they do
# not disturb each other), CPU time over IDLE seconds scaled to a minute.
# /proc/PID/stat counts 10 ms ticks, too coarse for an idle process, so
# the figure is the threads' schedstat (ns); the tick count is a check.
w_collectors() {
	local pids=() t0=() n0=() i ticks ns
	for i in $(seq "$RUNS"); do
		start_server scoreboard default
		pids+=("$SRV_PID")
	done
	sleep 2
	for i in "${!pids[@]}"; do
		t0[i]=$(cpu_ticks "${pids[i]}") n0[i]=$(cpu_ns "${pids[i]}")
	done
	sleep "$IDLE"
	for i in "${!pids[@]}"; do
		ticks=$(($(cpu_ticks "${pids[i]}") - t0[i]))
		ns=$(($(cpu_ns "${pids[i]}") - n0[i]))
		[ "$ns" -gt 0 ] || die "no schedstat for scoreboard"
		record collector_cpu_s_per_min scoreboard "$(calc "$ns / 1e9 * 60 / $IDLE")"
		record collector_cpu_ticks_s_per_min scoreboard \
			"$(calc "$ticks / $HZ * 60 / $IDLE")"
	done
	for i in "${pids[@]}"; do stop_pid "$i"; done
	log "collectors done"
}

# 7. Range queries through the library (bench/query_bench.c): 100 series
# of 1 h of 1 s data (--smoke: 10 series of 10 min), medians printed and
# kept in $WORK/query.txt, not in the table.
w_query() {
	cmake --build "$BUILD" --target query_bench -j "$NCPU" >>"$WORK/build.log" 2>&1 ||
		{ tail -20 "$WORK/build.log" >&2 && die "query_bench build"; }
	"${PIN_SERVER[@]}" "$BUILD/query_bench" \
		$([ $SMOKE -eq 1 ] && echo --smoke || echo --runs 15) \
		>"$WORK/query.txt" || die "query_bench failed"
	cat "$WORK/query.txt" >&2
	log "query done"
}

# The dashboard (bench/dashboard.sh): the server pinned like the others,
# Chromium and node on the load generators' CPUs.
w_dashboard() {
	BENCH_SERVER_WRAP="${PIN_SERVER[*]}" "${PIN_LOAD[@]}" \
		"$ROOT/bench/dashboard.sh" "$BUILD/scoreboard" "$RUNS" "$IDLE" \
		>>"$RAW" || die "dashboard"
	log "dashboard done"
}

# 8. The store alone (bench/store_bench.c): bytes per sample of one hour
# of a 1,000-series mix by the store's accounting, and append rates on
# one core, medians of 3 runs (1 with --smoke). Printed as is; not part
# of the table.
w_store() {
	local out=$WORK/store_bench.txt
	"${PIN_SERVER[@]}" "$BUILD/store_bench" $([ $SMOKE -eq 1 ] && echo --smoke) \
		>"$out" || die "store_bench"
	STORE_BENCH=$(cat "$out")
	log "store done"
}

# ------------------------------------------------------------------- main

describe_machine() {
	local stamp=$1
	meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	meta stamp "$stamp"
	meta nproc "$NCPU"
	meta cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	meta memory "$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	meta kernel "$(uname -r)"
	meta scoreboard "$("$BUILD/scoreboard" version 2>&1 | head -1)"
	meta git "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
	meta go "$(go version)"
	meta victoria-metrics "$(dpkg-query -W -f='${Version}' victoria-metrics 2>/dev/null)"
	meta wrk "$(dpkg-query -W -f='${Version}' wrk 2>/dev/null)"
	meta mode "$([ $SMOKE -eq 1 ] && echo smoke || echo full)"
	meta mem_points "$(calc "$MEM_BATCHES * 1000")"
	meta loadavg_before "$(cut -d' ' -f1-3 /proc/loadavg)"
	meta busy_before_pct "$BUSY_BEFORE"
	meta runs "$RUNS"
	meta duration_s "$DURATION"
	meta workloads "${WORKLOADS[*]}"
	meta note "median of $RUNS run(s), [min–max] over runs; every run starts a fresh server; ratio = scoreboard's median / the peer's"
	meta note "$PINNING; 'server CPU' is how busy the server's core was during the run (100% = saturated; less means the load generator was the limit, and 'per server CPU-second' rows estimate what a saturated core would serve)"
	meta note "throughput: wrk -t1 -c$CONNS for ${DURATION}s a run; MB = 10^6 bytes of uncompressed response (no Accept-Encoding), headers included"
	meta note "scoreboard runs with --no-process --no-system --interval 1h for throughput and latency, so collectors do not grow the data set; with its defaults (collectors every 1s) for memory and idle CPU"
	meta note "data: series bench_0..bench_999, one point each per batch; POST timestamps are unique per request (30 min ago onwards), so nothing is replaced"
	meta note "writer: single-point POSTs on one connection ${WRITER_DELAY_MS} ms apart, wrk --latency; readers: wrk -c8 GET /metrics of 10k points; slow reader: curl --limit-rate 1k GET /metrics of 100k points; >= = the writer completed nothing in the ${DURATION}s window"
	meta note "memory: (VmRSS 1s after loading the points - VmRSS before) / points; VictoriaMetrics on disk: du -sb of its data directory once /internal/force_flush has put every row in its parts; idle: VmRSS (and PSS from smaps_rollup) 2s after start"
	meta note "idle CPU: CPU time of the whole idle process (all threads: collectors, HTTP workers, main) over ${IDLE}s, scaled to 60s; from /proc/PID/task/*/schedstat (ns), with utime+stime from /proc/PID/stat (10 ms ticks) beside it"
}

# machine_busy: percent of all CPUs' time not idle over one second.
machine_busy() {
	local a b
	a=$(awk '/^cpu / { print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6 }' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / { print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
		printf "%d", 100 * (1 - (y[2] - x[2]) / (y[1] - x[1])) }'
}

# note_busy WHEN: a warning in the log and under the table when other
# processes use the CPUs (the figures are then noisy).
note_busy() {
	local busy
	busy=$(machine_busy)
	[ "$1" = before ] && BUSY_BEFORE=$busy
	if [ "$busy" -gt 10 ]; then
		log "the machine is ${busy}% busy $1 the run: expect noisy figures"
		meta note "other processes kept the CPUs ${busy}% busy $1 the run, so figures are noisy"
	fi
}

main() {
	local stamp start=$SECONDS w strict
	stamp=$(date -u +%Y%m%dT%H%M%SZ)
	build
	note_busy before
	describe_machine "$stamp"
	log "runs=$RUNS duration=${DURATION}s idle=${IDLE}s mem=$((MEM_BATCHES))k points; $PINNING"
	for w in "${WORKLOADS[@]}"; do
		"w_$w"
	done
	meta elapsed_s $((SECONDS - start))
	meta loadavg_after "$(cut -d' ' -f1-3 /proc/loadavg)"
	note_busy after
	strict=false # every row must have figures when every workload ran
	[ ${#WORKLOADS[@]} -lt ${#ALL_WORKLOADS[@]} ] || strict=true
	mkdir -p "$ROOT/bench/results"
	"$BUILD/benchtool" report -strict=$strict -raw "$RAW" \
		-json "$ROOT/bench/results/$stamp.json" \
		-md "$ROOT/bench/results/$stamp.md" || die "report"
	# StatsD receive rate and loss, appended to the same .md.
	[ "$strict" = false ] || BENCH_RUNS=$RUNS "$ROOT/bench/statsd/run.sh" \
		$([ $SMOKE -eq 1 ] && echo --smoke) "$BUILD/scoreboard" \
		"$ROOT/bench/results/$stamp.md" || die "statsd bench"
	log "wrote bench/results/$stamp.json and .md in $((SECONDS - start))s"
	if [ -n "${STORE_BENCH:-}" ]; then
		printf '\nstore (bench/store_bench.c):\n%s\n' "$STORE_BENCH"
		printf '%s\n' "$STORE_BENCH" >"$ROOT/bench/results/$stamp-store.txt"
	fi
}

main

#!/usr/bin/env bash
# valgrind_run.sh VALGRIND SCOREBOARD_BIN
#
# Runs `scoreboard serve` under valgrind's leak checker: start on a free
# loopback port, send every kind of request (good and bad), wait for the
# collectors to record the traffic, stop with SIGTERM, and require exit
# status 0 with no leak or memory error reported. Every wait is bounded;
# the server is killed on any exit path. SB_VALGRIND_KEEP=1 keeps the
# logs (server stderr, valgrind log) for inspection.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 VALGRIND SCOREBOARD_BIN" >&2
	exit 2
fi
valgrind=$1
bin=$2

work=$(mktemp -d "${TMPDIR:-/tmp}/sb-valgrind.XXXXXX")
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ -n "${SB_VALGRIND_KEEP:-}" ]; then
		echo "valgrind_run: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

fail() {
	echo "valgrind_run: FAIL: $*" >&2
	echo "--- server stderr" >&2
	cat "$work/stderr" >&2 || true
	echo "--- valgrind log" >&2
	cat "$work/valgrind.log" >&2 || true
	exit 1
}

"$valgrind" --quiet --leak-check=full \
	--show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible \
	--error-exitcode=99 --log-file="$work/valgrind.log" \
	"$bin" serve --listen 127.0.0.1:0 --interval 100ms \
	2>"$work/stderr" &
pid=$!

# Wait (up to 60 s: valgrind starts slowly) for the listening line.
port=""
for _ in $(seq 600); do
	port=$(sed -n 's/.*listening address=[^ ]*:\([0-9][0-9]*\).*/\1/p' \
		"$work/stderr" | head -n 1)
	[ -n "$port" ] && break
	kill -0 "$pid" 2>/dev/null || fail "server exited before listening"
	sleep 0.1
done
[ -n "$port" ] || fail "no 'listening address=' line within 60 s"
base="http://127.0.0.1:$port"

# expect STATUS CURL_ARGS...: one request, checked for its status.
expect() {
	local want=$1 got
	shift
	got=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 "$@") ||
		fail "curl $* failed"
	[ "$got" = "$want" ] || fail "curl $*: status $got, want $want"
}

now=$(date +%s)
expect 200 "$base/healthz"
expect 200 "$base/metrics"
expect 200 --compressed "$base/metrics"
expect 204 -d "[{\"name\":\"vg_a\",\"value\":1,\"labels\":{\"k\":\"v\"}},
	{\"name\":\"vg_b\",\"value\":\"NaN\",\"time\":$now}]" "$base/metrics"
expect 204 -d '{"name":"vg_a","value":2}' "$base/metrics"
expect 400 -d '[{"name":"vg_c","value":1},{"name":"vg_c","value":true}]' \
	"$base/metrics"
expect 400 -d '{"name":' "$base/metrics"
expect 400 -d '{"name":"x","value":1e400}' "$base/metrics"
expect 200 "$base/metrics?name=vg_a&since=-5m&limit=10"
expect 200 "$base/metrics?latest=true"
expect 400 "$base/metrics?bogus=1"
expect 200 "$base/api/v1/series"
expect 404 "$base/nope"
expect 405 -X DELETE "$base/metrics"
expect 200 -I "$base/metrics"

# Wait until a collector tick has turned the traffic into series.
seen=""
for _ in $(seq 300); do
	if curl -sS --max-time 30 \
		"$base/metrics?name=scoreboard_http_requests_total" |
		grep -q unmatched; then
		seen=1
		break
	fi
	sleep 0.1
done
[ -n "$seen" ] || fail "request metrics never appeared"

kill -TERM "$pid"
# Up to 30 s for valgrind to run the exit path and the leak check.
for _ in $(seq 300); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "still running 30 s after SIGTERM"
status=0
wait "$pid" || status=$?
pid=""

[ "$status" -eq 0 ] || fail "exit status $status (99 = valgrind errors)"
grep -q "stopped" "$work/stderr" || fail "no 'stopped' log line"
problems='(definitely|indirectly|possibly) lost: [1-9]'
problems+='|Invalid (read|write|free)|uninitialised|ERROR SUMMARY: [1-9]'
if grep -Eq "$problems" "$work/valgrind.log"; then
	fail "valgrind reported problems"
fi
echo "valgrind_run: ok (port $port, exit 0, no leaks)"

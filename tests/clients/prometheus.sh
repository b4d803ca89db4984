#!/usr/bin/env bash
# Real Prometheus clients against the real scoreboard binary:
#   1. Debian's `prometheus` scrapes scoreboard (Accept negotiation, text
#      format 0.0.4): its API must show the target up and a pushed value,
#      also one pushed under a name that had to be sanitised;
#   2. `promtool check metrics` finds nothing to report in scoreboard's
#      exposition (all collectors on, pushed odd names and label values);
#   3. scoreboard scrapes `prometheus-node-exporter` and Prometheus' own
#      /metrics (histograms, summaries) with --scrape: node_* values,
#      `up` and the scrape_* series land in the store.
# Every process runs on 127.0.0.1 on a port chosen at run time, its data
# in one temporary directory; all are stopped on exit, every wait is
# bounded.
#
#   tests/clients/prometheus.sh SCOREBOARD_BINARY
set -euo pipefail

sb=${1:?usage: prometheus.sh SCOREBOARD_BINARY}
for tool in prometheus promtool prometheus-node-exporter curl; do
	command -v "$tool" >/dev/null || {
		echo "FAIL: $tool is not installed (scripts/install-deps.sh test)"
		exit 1
	}
done

tmp=$(mktemp -d)
# The starters run in $(...) subshells, so they record the process ids
# in a file (a variable set there would be lost and the processes leak).
cleanup() {
	local p i
	[ -f "$tmp/pids" ] || { rm -rf "$tmp"; return; }
	while read -r p; do kill "$p" 2>/dev/null || true; done <"$tmp/pids"
	while read -r p; do # not our children: poll, at most 10 s each
		for ((i = 0; i < 100; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
	done <"$tmp/pids"
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	for f in "$tmp"/*.log; do
		echo "--- $f"
		tail -n 20 "$f"
	done
	exit 1
}

# Polls "$@" every 0.5 s for at most $limit seconds until it succeeds.
limit=90
wait_for() {
	local i
	for ((i = 0; i < limit * 2; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.5
	done
	return 1
}

# Starts scoreboard on port 0 and prints the port it bound.
start_scoreboard() {
	local name=$1 port=""
	shift
	"$sb" serve --listen 127.0.0.1:0 --interval 1s "$@" \
		>"$tmp/$name.log" 2>&1 &
	echo $! >>"$tmp/pids"
	for ((i = 0; i < 100; i++)); do
		port=$(sed -n 's/.*listening address=127\.0\.0\.1:\([0-9]*\).*/\1/p' \
			"$tmp/$name.log" | head -n 1)
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || fail "$name did not start"
	echo "$port"
}

# Starts a program that takes its listen port in its arguments (PORT is
# replaced): a random free-looking port, retried when it cannot bind.
start_on_port() {
	local name=$1 check=$2 port pid try
	shift 2
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 40000))
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			continue # taken
		fi
		"${@//PORT/$port}" >"$tmp/$name.log" 2>&1 &
		pid=$!
		for ((i = 0; i < 600; i++)); do # 60 s
			if curl -fsS -o /dev/null "http://127.0.0.1:$port$check" 2>/dev/null; then
				echo "$pid" >>"$tmp/pids"
				echo "$port"
				return 0
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	fail "$name did not start"
}

# ------------------------------------------------- scoreboard, scraped
sbp=$(start_scoreboard scoreboard)
base="http://127.0.0.1:$sbp"
code=$(curl -s -o /dev/null -w '%{http_code}' \
	-d '{"name":"clients_pushed_value","value":42.5,"labels":{"src":"push"}}' \
	"$base/metrics")
[ "$code" = 204 ] || fail "push answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' \
	-d '[{"name":"app.queue-depth","value":3,"labels":{"path":"/a\"b\\c\nd"}},
	     {"name":"app_queue_depth","value":4,"labels":{"path":"other"}},
	     {"name":"jobs_done_total","value":"NaN"},
	     {"name":"job_latency_seconds","value":"+Inf","labels":{"host":"x y"}}]' \
	"$base/metrics")
[ "$code" = 204 ] || fail "odd push answered $code"

# The collectors' first ticks (and a request summary) before promtool.
wait_for curl -fsS "$base/metrics?name=scoreboard_http_request_duration_seconds_count&latest=true" ||
	fail "no request statistics"
sleep 1.5
curl -fsS -H 'Accept: text/plain' "$base/metrics" >"$tmp/exposition.txt"
grep -q '^app_queue_depth{path="/a\\"b\\\\c\\nd"} 3$' "$tmp/exposition.txt" ||
	fail "sanitised name or escaped label missing from the exposition"
grep -q '^# TYPE jobs_done_total counter$' "$tmp/exposition.txt" ||
	fail "counter type missing"
if ! out=$(promtool check metrics <"$tmp/exposition.txt" 2>&1) || [ -n "$out" ]; then
	echo "$out"
	fail "promtool check metrics reported problems"
fi
echo "ok: promtool check metrics reports nothing ($(wc -l <"$tmp/exposition.txt") lines)"

cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: scoreboard
    static_configs:
      - targets: ['127.0.0.1:$sbp']
YML
pp=$(start_on_port prometheus /-/ready prometheus \
	--config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
	--web.listen-address=127.0.0.1:PORT --log.level=warn)
papi="http://127.0.0.1:$pp/api/v1"
wait_for sh -c "curl -fsS '$papi/targets' | grep -q '\"health\":\"up\"'" ||
	fail "Prometheus never saw scoreboard up: $(curl -s "$papi/targets")"
echo "ok: Prometheus target up"
wait_for sh -c "curl -fsS '$papi/query?query=clients_pushed_value' | grep -q '\"42.5\"'" ||
	fail "pushed value not in Prometheus: $(curl -s "$papi/query?query=clients_pushed_value")"
wait_for sh -c "curl -fsS '$papi/query?query=app_queue_depth%7Bpath%3D%22other%22%7D' | grep -q '\"4\"'" ||
	fail "sanitised series not in Prometheus"
echo "ok: Prometheus shows the pushed values"

# ------------------------------------------------- scoreboard, scraping
np=$(start_on_port node-exporter /metrics prometheus-node-exporter \
	--web.listen-address=127.0.0.1:PORT --no-collector.hwmon \
	--no-collector.thermal_zone --no-collector.powersupplyclass)
sbs=$(start_scoreboard scraper --no-process --no-system \
	--scrape "http://127.0.0.1:$np/metrics,1s,node" \
	--scrape "http://127.0.0.1:$pp/metrics,1s,prometheus")
sbase="http://127.0.0.1:$sbs"
wait_for sh -c "curl -fsS '$sbase/metrics?name=up&latest=true' | grep -q '\"job\":\"node\"},\"value\":1'" ||
	fail "no up 1 for the node exporter: $(curl -s "$sbase/metrics?name=up&latest=true")"
wait_for sh -c "curl -fsS '$sbase/metrics?name=up&latest=true' | grep -q '\"job\":\"prometheus\"},\"value\":1'" ||
	fail "no up 1 for Prometheus: $(curl -s "$sbase/metrics?name=up&latest=true")"
curl -fsS "$sbase/metrics?name=node_memory_MemTotal_bytes&latest=true" |
	grep -q "\"instance\":\"127.0.0.1:$np\",\"job\":\"node\"},\"value\":[1-9]" ||
	fail "node_memory_MemTotal_bytes not stored"
curl -fsS "$sbase/metrics?name=scrape_samples_scraped&latest=true" |
	grep -q '"job":"node"},"value":[1-9]' || fail "scrape_samples_scraped missing"
curl -fsS "$sbase/api/v1/series?name=prometheus_http_request_duration_seconds_bucket" |
	grep -q '"le":"+Inf"' || fail "Prometheus' histogram buckets not stored"
echo "ok: node exporter and Prometheus scraped into the store"
echo "clients: 3 passed, 0 failed"

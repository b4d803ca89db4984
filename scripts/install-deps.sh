#!/usr/bin/env bash
# Installs the Debian packages scoreboard needs to build and test, skipping
# the ones already present, then the pinned npm packages. Called by the
# Makefile; safe to run repeatedly.
#
#   scripts/install-deps.sh [GROUP ...]
#
# Groups:
#   build    compilers and libraries (default)
#   test     build + cmocka, sanitizer runtimes, valgrind, and the real
#            clients of tests/clients/ (Prometheus, the node exporter, and
#            the npm packages of tests/clients/package-lock.json)
#   bench    build + wrk, Go, VictoriaMetrics
#   browser  Chromium, for the dashboard's browser tests and its bench
#   web      only the npm step of web/
# Every group but browser also runs the web step: `npm ci` in web/ when
# web/node_modules is missing or older than web/package-lock.json, since
# the build embeds files from it. Run as root or with sudo available.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config clang clang-format
	libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev zlib1g-dev)
test_pkgs=(libcmocka-dev libclang-rt-14-dev valgrind curl)
# Real clients of tests/clients/ (Prometheus server, promtool, exporter).
test_pkgs+=(prometheus prometheus-node-exporter)
bench_pkgs=(wrk golang-go victoria-metrics curl procps)
browser_pkgs=(chromium)

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(build)

want=()
web=0
clients=0
for g in "${groups[@]}"; do
	case "$g" in
	build) want+=("${build_pkgs[@]}"); web=1 ;;
	test) want+=("${build_pkgs[@]}" "${test_pkgs[@]}"); web=1; clients=1 ;;
	bench) want+=("${build_pkgs[@]}" "${bench_pkgs[@]}"); web=1 ;;
	browser) want+=("${browser_pkgs[@]}") ;;
	web) web=1 ;;
	*)
		echo "install-deps: unknown group '$g'" >&2
		exit 2
		;;
	esac
done

# Node and npm for the npm steps: Debian's nodejs and npm when the commands
# are absent (a nodejs package that bundles npm is fine as it is).
if [ $((web + clients)) -gt 0 ]; then
	command -v node >/dev/null 2>&1 || want+=(nodejs)
	command -v npm >/dev/null 2>&1 || want+=(npm)
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# npm ci in DIR when its lock file is newer than what was installed.
npm_ci() {
	local dir="$1"
	shift
	if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
		[ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		echo "install-deps: npm ci in ${dir#"$root"/}" >&2
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error "$@") >&2
	fi
}
npm_steps() {
	[ "$web" -eq 0 ] || npm_ci "$root/web"
	# The clients need no native add-ons or install scripts.
	[ "$clients" -eq 0 ] || npm_ci "$root/tests/clients" --omit=optional --ignore-scripts
}

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	npm_steps
	exit 0
fi

# Deduplicate while keeping order.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo=(sudo)
	else
		echo "install-deps: need root to install: ${missing[*]}" >&2
		exit 1
	fi
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Another install may hold the dpkg lock (two make targets at once): wait
# for it rather than fail.
lock=(-o DPkg::Lock::Timeout=300)
"${sudo[@]}" apt-get "${lock[@]}" update -qq
"${sudo[@]}" apt-get "${lock[@]}" install -y -qq --no-install-recommends \
	"${missing[@]}"
npm_steps

#!/usr/bin/env bash
# Installs the Debian packages scoreboard needs to build and test, skipping
# the ones already present. Called by the Makefile; safe to run repeatedly.
#
#   scripts/install-deps.sh [GROUP ...]
#
# Groups: build (default), test, bench, browser (Chromium for the
# dashboard's browser tests and its bench), web (only the npm step below).
# Every group but browser also runs the web step: `npm ci` in web/ when
# web/node_modules is missing or older than web/package-lock.json, since
# the build embeds files from it. Run as root or with sudo available.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config clang clang-format
	libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev zlib1g-dev)
test_pkgs=(libcmocka-dev libclang-rt-14-dev valgrind curl)
bench_pkgs=(wrk golang-go victoria-metrics curl procps)
browser_pkgs=(chromium)

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(build)

want=()
web=0
for g in "${groups[@]}"; do
	case "$g" in
	build) want+=("${build_pkgs[@]}"); web=1 ;;
	test) want+=("${build_pkgs[@]}" "${test_pkgs[@]}"); web=1 ;;
	bench) want+=("${build_pkgs[@]}" "${bench_pkgs[@]}"); web=1 ;;
	browser) want+=("${browser_pkgs[@]}") ;;
	web) web=1 ;;
	*)
		echo "install-deps: unknown group '$g'" >&2
		exit 2
		;;
	esac
done

# The web step: node and npm (Debian's nodejs and npm when absent; a
# nodejs package that bundles npm is fine), then the pinned npm packages.
if [ "$web" -eq 1 ] && { ! command -v node >/dev/null 2>&1 ||
	! command -v npm >/dev/null 2>&1; }; then
	want+=(nodejs npm)
fi
web_step() {
	local dir
	dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/web"
	[ "$web" -eq 1 ] || return 0
	if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
		[ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		echo "install-deps: npm ci in $dir" >&2
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
	fi
}

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	web_step
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
web_step

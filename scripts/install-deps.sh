#!/usr/bin/env bash
# Installs the Debian packages scoreboard needs to build and test, skipping
# the ones already present. Called by the Makefile; safe to run repeatedly.
#
#   scripts/install-deps.sh [GROUP ...]
#
# Groups: build (default), test, bench. Run as root or with sudo available.
# The test group also installs the npm packages of tests/clients/ (the
# real client libraries the `clients` tests drive) from its committed
# package-lock.json with `npm ci`.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config clang clang-format
	libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev zlib1g-dev)
test_pkgs=(libcmocka-dev libclang-rt-14-dev valgrind curl nodejs)
# Real clients of tests/clients/ (Prometheus server, promtool, exporter).
test_pkgs+=(prometheus prometheus-node-exporter)
bench_pkgs=(wrk golang-go victoria-metrics curl procps)

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(build)

want=()
for g in "${groups[@]}"; do
	case "$g" in
	build) want+=("${build_pkgs[@]}") ;;
	test) want+=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
	bench) want+=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
	*)
		echo "install-deps: unknown group '$g'" >&2
		exit 2
		;;
	esac
done

# npm ci for tests/clients/ when its lock file is newer than what was
# installed; optional native add-ons and install scripts are skipped.
clients_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/clients"
npm_clients() {
	case " ${groups[*]} " in *" test "*) ;; *) return 0 ;; esac
	if [ ! -e "$clients_dir/node_modules/.package-lock.json" ] ||
		[ "$clients_dir/package-lock.json" -nt "$clients_dir/node_modules/.package-lock.json" ]; then
		echo "install-deps: npm ci in tests/clients" >&2
		(cd "$clients_dir" && npm ci --omit=optional --ignore-scripts \
			--no-audit --no-fund --loglevel=error)
	fi
}
trap 'st=$?; [ $st -eq 0 ] && npm_clients; exit' EXIT

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
# npm ships inside nodesource's nodejs package but is its own package in
# Debian: install it only when the command is missing.
case " ${want[*]} " in
*" nodejs "*) command -v npm >/dev/null 2>&1 || missing+=(npm) ;;
esac
[ ${#missing[@]} -eq 0 ] && exit 0

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

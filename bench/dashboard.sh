#!/usr/bin/env bash
# bench/dashboard.sh SCOREBOARD_BIN RUNS IDLE_SECONDS
#
# The dashboard workload of bench/run.sh: page weight, time to first
# chart in headless Chromium, server CPU of live updates (see
# bench/dashboard.mjs, which prints the raw result lines on stdout).
# Installs Chromium and the npm packages through scripts/install-deps.sh.
set -euo pipefail

if [ $# -ne 3 ]; then
	echo "usage: $0 SCOREBOARD_BIN RUNS IDLE_SECONDS" >&2
	exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/../scripts/install-deps.sh" browser web >&2
exec node "$here/dashboard.mjs" "$@"

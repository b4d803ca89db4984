#!/usr/bin/env bash
# run.sh SCOREBOARD_BIN ARTIFACT_DIR
#
# The dashboard's browser tests (dashboard.spec.mjs): installs what they
# need through the project's set-up script (Chromium from Debian, the
# pinned npm packages in web/), then drives headless Chromium against the
# real binary. Exits 77, which ctest reports as skipped, with the reason
# on stderr, only when Chromium cannot be installed or started.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 SCOREBOARD_BIN ARTIFACT_DIR" >&2
	exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
skip=77

if ! "$root/scripts/install-deps.sh" browser web >&2; then
	if [ ! -x /usr/bin/chromium ]; then
		echo "SKIP: Chromium could not be installed" \
			"(scripts/install-deps.sh browser failed); browser tests not run" >&2
		exit $skip
	fi
	echo "run.sh: install-deps failed" >&2
	exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
	echo "SKIP: /usr/bin/chromium is missing after install; browser tests not run" >&2
	exit $skip
fi
mkdir -p "$2"
exec node "$here/dashboard.spec.mjs" "$1" "$2"

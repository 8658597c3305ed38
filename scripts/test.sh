#!/usr/bin/env bash
# Install everything the tests need (Debian packages included) and run the whole suite.
# Extra arguments go to pytest, e.g. `./scripts/test.sh -k media -x`.
set -euo pipefail
source "$(dirname "$0")/lib/setup.sh"
cd "$ROOT"
# chromium: browser end-to-end tests (Playwright drives Debian's /usr/bin/chromium);
# fonts: Kazakh and Russian text renders in screenshots and in the mixer's labels
# (recorder/labels.py looks for DejaVu Sans, then Noto Sans);
# postgresql: the database tests also run on a throwaway PostgreSQL server
# (tests/support/postgres.py starts it from /usr/lib/postgresql/*/bin).
apt_install_missing chromium fonts-noto-core fonts-dejavu-core ca-certificates postgresql
ensure_venv test
ensure_web_client
log "ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
log "pytest"
exec "$VENV/bin/python" -m pytest "$@"

#!/usr/bin/env bash
# Install what Tyndau needs and run it on its embedded defaults (no Redis, no PostgreSQL),
# with a demo hearing whose join links are printed. Extra arguments go to `tyndau serve`.
set -euo pipefail
source "$(dirname "$0")/lib/setup.sh"
cd "$ROOT"
# The recording mixer draws names and roles (Kazakh, Russian) with DejaVu Sans.
apt_install_missing fonts-dejavu-core
ensure_venv
ensure_web_client
log "starting Tyndau (Ctrl+C stops it)"
exec "$VENV/bin/tyndau" serve --demo "$@"

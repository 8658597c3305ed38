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
# (tests/support/postgres.py starts it from /usr/lib/postgresql/*/bin);
# coturn: relay-only clients connect through a real TURN server the tests start
# (tests/support/coturn.py runs /usr/bin/turnserver with its own configuration);
# redis-server: two nodes share a throwaway Redis the tests start (tests/support/redis.py);
# nginx-light: deploy/nginx/ is checked with `nginx -t` and routes to two real nodes
# (tests/test_deploy.py runs /usr/sbin/nginx with its own prefix and ports);
# docker-compose: `docker-compose config` checks deploy/compose.yaml (no engine needed).
had_coturn=0
dpkg-query -W -f='${Status}' coturn 2>/dev/null | grep -q "install ok installed" && had_coturn=1
had_redis=0
dpkg-query -W -f='${Status}' redis-server 2>/dev/null | grep -q "install ok installed" && had_redis=1
had_nginx=0
dpkg-query -W -f='${Status}' nginx-light 2>/dev/null | grep -q "install ok installed" && had_nginx=1
apt_install_missing chromium fonts-noto-core fonts-dejavu-core ca-certificates postgresql coturn \
  redis-server nginx-light docker-compose
# Debian starts the coturn service on install, with a configuration that asks for no
# credentials: an open relay. The tests never use it, so one installed just now is stopped.
if [ "$had_coturn" = 0 ] && [ -d /run/systemd/system ]; then
  as_root systemctl disable --now coturn || true
fi
# Likewise Debian's Redis service: the tests run their own on a free port.
if [ "$had_redis" = 0 ] && [ -d /run/systemd/system ]; then
  as_root systemctl disable --now redis-server || true
fi
# And Debian's nginx service (port 80, the default site): the tests start their own.
if [ "$had_nginx" = 0 ] && [ -d /run/systemd/system ]; then
  as_root systemctl disable --now nginx || true
fi
ensure_venv test
ensure_web_client
log "ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
log "pytest"
exec "$VENV/bin/python" -m pytest "$@"

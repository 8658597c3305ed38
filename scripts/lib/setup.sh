# Shared set-up steps for scripts/demo.sh and scripts/test.sh (sourced, not run).
# Everything the project needs is installed here, so a fresh Debian machine works.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${TYNDAU_VENV:-$ROOT/.venv}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root or sudo to run: $*" >&2; return 1; fi
}

# apt_install_missing PKG... : install the Debian packages that are not installed yet.
apt_install_missing() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ensure_venv [EXTRAS] : a virtualenv with the project installed (editable), with EXTRAS.
ensure_venv() {
  local extras="${1:-}" target="$ROOT"
  [ -n "$extras" ] && target="$ROOT[$extras]"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv $VENV"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
      apt_install_missing python3-venv
      python3 -m venv "$VENV"
    fi
  fi
  log "installing Python packages ($target)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e "$target"
}

# ensure_web_client : the browser client's npm dependencies (no CDN at run time).
ensure_web_client() {
  command -v npm >/dev/null || apt_install_missing nodejs npm
  log "installing web client packages (npm ci)"
  (cd "$ROOT/web_client" && npm ci --no-audit --no-fund --loglevel=error)
}

#!/bin/sh
# Entry point of the Tyndau image (and of tyndau-init.service): `tyndau "$@"`,
# after reading secrets from files.
#
# PGPASSWORD_FILE: a file (a Docker/Kubernetes secret) holding the PostgreSQL
# password. It is exported as PGPASSWORD, which asyncpg uses when
# TYNDAU_DATABASE_URL carries no password, so the URL in the environment (and in
# the repository) never holds it. Other secrets are read by Tyndau itself
# (TYNDAU_TURN_SECRET_FILE; the signing keys in $TYNDAU_DATA_DIR/keys).
#
# `init`, run once before the nodes start (compose's tyndau-init, the Kubernetes
# Job tyndau-init, systemd's tyndau-init.service): bring the database schema to
# the newest migration and make the token and archive signing keys in the shared
# keys directory if there are none, so that nodes starting together neither race
# the migration nor each make a key of their own.
set -eu
if [ -n "${PGPASSWORD_FILE:-}" ]; then
    PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
    export PGPASSWORD
    unset PGPASSWORD_FILE
fi
if [ "${1:-}" = "init" ]; then
    # Every database command of the CLI migrates first; `courts list` changes nothing else.
    tyndau courts list >/dev/null
    tyndau keys list
    python -c 'import os, pathlib; from recorder.archive_keys import signing_key; print("archive key", signing_key(pathlib.Path(os.environ.get("TYNDAU_DATA_DIR", "/var/lib/tyndau")) / "keys").key_id)'
    exit 0
fi
exec tyndau "$@"

#!/bin/sh
# End-to-end self test of the OIDC peer (server.js + agent.js) without the Rust CLI.
# Exits non-zero on any failure.
set -eu
cd "$(dirname "$0")"
if [ ! -d node_modules/oidc-provider ]; then
  npm ci --no-audit --no-fund >&2
fi
exec python3 selftest.py "$@"

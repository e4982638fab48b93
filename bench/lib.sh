# Sourced by every bench script: strict mode, the repository root as working directory,
# hyperfine installed, and the release binary built; sets $bin to it (or to $CODEX_BIN).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# need COMMAND [PACKAGE]: installs the Debian package (default: the command's name) when the
# command is missing.
need() {
  command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${2:-$1}" >/dev/null; }
}

need hyperfine
# CODEX_BIN: measure that binary instead (e.g. one built before a change, for a side by side).
if [ -n "${CODEX_BIN:-}" ]; then
  bin=$CODEX_BIN
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/codex-auth-target}"
  cargo build --release --locked -q
  bin="$CARGO_TARGET_DIR/release/codex"
fi

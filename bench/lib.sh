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

# chatgpt_sign_in USER HOME: writes HOME/auth.json as a ChatGPT sign-in of realistic size (JWTs
# of ~1 KB, valid for a day) for USER@example.com, as a sign-in would (0600).
chatgpt_sign_in() {
  python3 - "$1" >"$2/auth.json" <<'PY'
import base64, json, sys, time
user = sys.argv[1]
def jwt(c):
    e = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return e({"alg": "RS256", "typ": "JWT"}) + "." + e(c) + "." + "s" * 342
auth = {"chatgpt_plan_type": "plus", "chatgpt_user_id": "user-" + user, "chatgpt_account_id": "acct-" + user}
now = int(time.time())
print(json.dumps({"auth_mode": "chatgpt", "OPENAI_API_KEY": None, "tokens": {
    "id_token": jwt({"email": user + "@example.com", "sub": user, "https://api.openai.com/auth": auth, "exp": now + 86400}),
    "access_token": jwt({"exp": now + 86400, "sub": user, "https://api.openai.com/auth": auth, "scp": ["openid"] * 20}),
    "refresh_token": "rt-" + user + "-" + "r" * 40,
    "oauth_provenance": {"issuer": "https://auth.openai.com", "client_id": "app_EMoamEEZ73f0CkXaXp7hrann"},
    "account_id": "acct-" + user}, "last_refresh": "2026-01-01T00:00:00.000Z"}, indent=2))
PY
  chmod 600 "$2/auth.json"
}

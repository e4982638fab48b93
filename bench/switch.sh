#!/usr/bin/env bash
# Wall time of `codex login switch` (file mode, two ChatGPT accounts, switching back and forth)
# next to a baseline measured in the same run: `cp` of the account's saved file over auth.json,
# what the copy-auth.json scripts users write do (no lock, no fsync). Target: well under 10 ms.
source "$(dirname "$0")/lib.sh"
home=$(mktemp -d); trap 'rm -rf "$home"' EXIT
export CODEX_HOME="$home"
unset RUST_LOG CODEX_ACCOUNT

# Two ChatGPT sign-ins of realistic size (JWTs of ~1 KB), saved as accounts under their emails:
# each is written as auth.json (as a sign-in would) and taken in as an account by the next command.
signed_in() {
  python3 - "$1" >"$home/auth.json" <<'PY'
import base64, json, sys, time
user = sys.argv[1]
def jwt(c):
    e = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return e({"alg": "RS256", "typ": "JWT"}) + "." + e(c) + "." + "s" * 342
auth = {"chatgpt_plan_type": "plus", "chatgpt_user_id": "user-" + user, "chatgpt_account_id": "acct-" + user}
now = int(time.time())
print(json.dumps({"auth_mode": "chatgpt", "OPENAI_API_KEY": None, "tokens": {
    "id_token": jwt({"email": user + "@example.com", "sub": user, "https://api.openai.com/auth": auth, "exp": now + 3600}),
    "access_token": jwt({"exp": now + 3600, "sub": user, "https://api.openai.com/auth": auth, "scp": ["openid"] * 20}),
    "refresh_token": "rt-" + user + "-" + "r" * 40,
    "oauth_provenance": {"issuer": "https://auth.openai.com", "client_id": "app_EMoamEEZ73f0CkXaXp7hrann"},
    "account_id": "acct-" + user}, "last_refresh": "2026-01-01T00:00:00.000Z"}, indent=2))
PY
  chmod 600 "$home/auth.json"
}
signed_in alice; "$bin" login switch x 2>/dev/null || true
signed_in bob;   "$bin" login switch alice@example.com 2>/dev/null
"$bin" login switch bob@example.com 2>/dev/null

hyperfine -N --warmup 20 --runs 300 --export-json "$home/h.json" \
  --command-name "cp accounts/X.json auth.json" --prepare "cp $home/accounts/bob@example.com.json $home/auth.json" \
  "cp $home/accounts/alice@example.com.json $home/auth.json" \
  --command-name "codex login switch" --prepare "$bin login switch bob@example.com" \
  "$bin login switch alice@example.com" >/dev/null 2>&1
python3 - "$home/h.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{r['command']:<32} median {r['median']*1000:7.3f} ms   mean {r['mean']*1000:7.3f} ms   max {r['max']*1000:7.3f} ms")
PY

#!/usr/bin/env bash
# `codex login token` timings, each next to a baseline measured in the same run:
#   - valid access token  vs  `cat auth.json`
#   - expired access token (one refresh through the lock, JSON to the issuer, atomic save)
#     vs  curl making the same single refresh request to the same local issuer.
# The issuer is the fake of OpenAI's issuer (tests/peers/fakes), on loopback.
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
python3 tests/peers/fakes/fake_chatgpt_issuer.py --seed-refresh-token rt-bench-0 --seed-refresh-token rt-curl-0 >"$work/issuer.out" 2>/dev/null &
issuer_pid=$!
trap 'kill $issuer_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q READY "$work/issuer.out" 2>/dev/null && break; sleep 0.1; done
issuer=$(awk '/READY/{print $2}' "$work/issuer.out")
export CODEX_HOME="$work/home" NO_PROXY='*'
unset RUST_LOG HTTPS_PROXY HTTP_PROXY ALL_PROXY https_proxy http_proxy all_proxy
mkdir -m 700 "$CODEX_HOME"

# helper: (re)write auth.json with an access token that is valid (1 h) or expired, keeping the
# current refresh token; and the body file curl sends, from curl's last response.
cat >"$work/state.py" <<PY
import base64, json, sys, time, os
home = os.environ["CODEX_HOME"]; path = os.path.join(home, "auth.json")
def jwt(c):
    e = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return e({"alg": "RS256"}) + "." + e(c) + ".c2ln"
mode = sys.argv[1]
if mode in ("valid", "expired"):
    try: doc = json.load(open(path)); rt = doc["tokens"]["refresh_token"]
    except Exception: rt = "rt-bench-0"
    exp = time.time() + (3600 if mode == "valid" else -60)
    doc = {"auth_mode": "chatgpt", "OPENAI_API_KEY": None, "tokens": {
        "id_token": jwt({"email": "bench@example.com"}), "access_token": jwt({"exp": int(exp)}),
        "refresh_token": rt, "oauth_provenance": {"issuer": "$issuer", "client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "protocol": "openai"},
        "account_id": None}, "last_refresh": "2026-01-01T00:00:00.000Z"}
    open(path, "w").write(json.dumps(doc, indent=2)); os.chmod(path, 0o600)
else:  # curl body from the previous curl answer
    resp = "$work/resp.json"; body = "$work/body.json"
    rt = json.load(open(resp))["refresh_token"] if os.path.exists(resp) else "rt-curl-0"
    json.dump({"client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "grant_type": "refresh_token",
               "refresh_reason": "proactive_expiry", "refresh_token": rt}, open(body, "w"))
PY
python3 "$work/state.py" valid
hyperfine -N --warmup 20 --runs 300 --export-json "$work/valid.json" \
  "cat $CODEX_HOME/auth.json" "$bin login token" >/dev/null 2>&1

# curl and codex each rotate a refresh-token family of their own (rt-curl-0, rt-bench-0).
hyperfine -N --warmup 3 --runs 60 --export-json "$work/expired.json" \
  --command-name "curl (one refresh request)" --prepare "python3 $work/state.py body" \
  "curl -sf -o $work/resp.json -X POST -H content-type:application/json --data-binary @$work/body.json $issuer/oauth/token" \
  --command-name "codex login token (expired)" --prepare "python3 $work/state.py expired" \
  "$bin login token" >/dev/null 2>&1

python3 - "$work/valid.json" "$work/expired.json" <<'PY'
import json, sys
for f in sys.argv[1:]:
    for r in json.load(open(f))["results"]:
        name = r["command"].replace("/root/.cache/codex-auth-target/release/", "")
        if len(name) > 40: name = name[:37] + "..."
        print(f"{name:<42} median {r['median']*1000:8.3f} ms   mean {r['mean']*1000:8.3f} ms")
PY

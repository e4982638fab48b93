#!/usr/bin/env bash
# `codex exec` with a provider token from a command ([model_providers.<id>.auth]) against the
# local fake Responses API, next to `curl` making the same streamed request in the same run:
# with the token cached across runs (the usual case), and with the command run every time
# (refresh_interval_ms = 1, as the reference's in-memory cache does for one request per process).
# The command is a script that sleeps 0.3 s, standing in for `az account get-access-token`.
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
token=bench-token-0123456789abcdef
printf '%s' "$token" >"$work/token"
python3 tests/peers/fakes/fake_responses_api.py --text "Hello from the benchmark fake" \
  --accept-bearer-file "$work/token" >"$work/ready" &
fake=$!
trap 'kill $fake 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q READY "$work/ready" 2>/dev/null && break; sleep 0.1; done
url=$(awk '{print $2}' "$work/ready")

printf '#!/bin/sh\nsleep 0.3\ncat %s/token\n' "$work" >"$work/az"
chmod 755 "$work/az"
mkdir -p "$work/cached" "$work/uncached"
unset RUST_LOG OPENAI_API_KEY CODEX_API_KEY HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy
for mode in cached uncached; do
  interval=300000; [ "$mode" = uncached ] && interval=1
  cat >"$work/$mode/config.toml" <<TOML
model_provider = "gw"
model = "gpt-5.5"
[model_providers.gw]
name = "Gateway"
base_url = "$url/v1"
[model_providers.gw.auth]
command = "$work/az"
refresh_interval_ms = $interval
TOML
done
body='{"model":"gpt-5.5","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}],"stream":true}'
printf '%s' "$body" >"$work/body.json"
curl_cmd="curl -sN --fail -X POST $url/v1/responses -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' -H 'Accept: text/event-stream' --data-binary @$work/body.json"
cached_cmd="env CODEX_HOME=$work/cached $bin exec hi"
uncached_cmd="env CODEX_HOME=$work/uncached $bin exec hi"

# All must work before they are timed.
eval "$cached_cmd" >/dev/null
eval "$uncached_cmd" >/dev/null
eval "$curl_cmd" >/dev/null

hyperfine -N --warmup 3 --runs 30 --export-json "$work/h.json" \
  -n curl "$curl_cmd" -n "codex exec, cached token" "$cached_cmd" \
  -n "codex exec, command every run" "$uncached_cmd" >/dev/null 2>&1
python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
for name in ("curl", "codex exec, cached token", "codex exec, command every run"):
    x = r[name]
    print(f"{name:<30} median {x['median']*1000:8.2f} ms   (+- {x['stddev']*1000:.2f})")
ratio = r["codex exec, cached token"]["median"] / r["curl"]["median"]
print(f"cached token / curl (median): {ratio:.2f}x  (target <= 1.5x, as plain exec)")
PY

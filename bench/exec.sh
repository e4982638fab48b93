#!/usr/bin/env bash
# Wall time and peak memory of one `codex exec` against the local fake Responses API, next to
# `curl` making the same streamed request in the same run. Target: codex within 1.5x of curl.
source "$(dirname "$0")/lib.sh"
need /usr/bin/time time
work=$(mktemp -d)
python3 tests/peers/fakes/fake_responses_api.py --text "Hello from the benchmark fake" >"$work/ready" &
fake=$!
trap 'kill $fake 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q READY "$work/ready" 2>/dev/null && break; sleep 0.1; done
url=$(awk '{print $2}' "$work/ready")

export CODEX_HOME="$work" CODEX_API_KEY=sk-bench-0123456789abcdef
unset RUST_LOG OPENAI_API_KEY HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy
printf 'openai_base_url = "%s/v1"\n' "$url" >"$work/config.toml"
body='{"model":"gpt-5.5","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}],"stream":true}'
printf '%s' "$body" >"$work/body.json"
curl_cmd="curl -sN --fail -X POST $url/v1/responses -H 'Authorization: Bearer $CODEX_API_KEY' -H 'Content-Type: application/json' -H 'Accept: text/event-stream' --data-binary @$work/body.json"
codex_cmd="$bin exec hi"

# Both must work before they are timed.
"$bin" exec hi >/dev/null
eval "$curl_cmd" >/dev/null

hyperfine -N --warmup 10 --runs 100 --export-json "$work/h.json" \
  -n curl "$curl_cmd" -n "codex exec" "$codex_cmd" >/dev/null 2>&1
python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
for name in ("curl", "codex exec"):
    x = r[name]
    print(f"{name:<12} median {x['median']*1000:7.2f} ms   mean {x['mean']*1000:7.2f} ms   (+- {x['stddev']*1000:.2f})")
ratio = r["codex exec"]["median"] / r["curl"]["median"]
print(f"codex exec / curl (median): {ratio:.2f}x  (target <= 1.5x)")
PY
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n1; }
echo "peak RSS  curl:       $(eval "rss $curl_cmd") KB"
echo "peak RSS  codex exec: $(rss "$bin" exec hi) KB"

#!/usr/bin/env bash
# Wall time and peak memory of `codex login status` next to a baseline measured in the same run
# (`cat auth.json`). Target on a 2-core machine: median under 2 ms, peak RSS under 8 MB.
source "$(dirname "$0")/lib.sh"
need /usr/bin/time time
home=$(mktemp -d); trap 'rm -rf "$home"' EXIT
export CODEX_HOME="$home"
unset RUST_LOG
printf 'sk-bench-0123456789abcdef' | "$bin" login --api-key - 2>/dev/null

hyperfine -N --warmup 50 --runs 500 --export-json "$home/h.json" \
  "cat $home/auth.json" "$bin login status" >/dev/null 2>&1
python3 - "$home/h.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{r['command'].split('/')[-1]:<24} median {r['median']*1000:7.3f} ms   mean {r['mean']*1000:7.3f} ms")
PY
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n1; }
echo "peak RSS  cat auth.json:      $(rss cat "$home/auth.json") KB"
echo "peak RSS  codex login status: $(rss "$bin" login status) KB"

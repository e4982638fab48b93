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
signed_in() { chatgpt_sign_in "$1" "$home"; }
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

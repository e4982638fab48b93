#!/usr/bin/env bash
# Start-up cost of the commands that run before every request, next to the floor measured in the
# same run (`cat auth.json`: one process that opens and prints the same file), as ratios:
#   codex --version, login status (API key), login status (ChatGPT tokens), login token (valid
#   ChatGPT token), login switch (two ChatGPT accounts).
# Also: instructions (callgrind: repeatable whatever the machine is doing), page faults and peak
# memory of `login status`. Targets (issue 19): every ratio <= 1.5x, peak RSS <= 8 MB.
#
#   bash bench/startup.sh                    # the release build of this checkout
#   BASELINE=/path/to/old/codex bash bench/startup.sh   # and an older binary, side by side
source "$(dirname "$0")/lib.sh"
need /usr/bin/time time
need valgrind
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
unset RUST_LOG CODEX_ACCOUNT CODEX_API_KEY OPENAI_API_KEY
bins=("$bin")
[ -n "${BASELINE:-}" ] && bins+=("$BASELINE")

# Two homes: one with an API key, one with two ChatGPT accounts (JWTs of realistic size, ~1 KB).
api="$work/api" chatgpt="$work/chatgpt"
mkdir -m 700 "$api" "$chatgpt"
printf 'sk-bench-0123456789abcdef' | CODEX_HOME="$api" "$bin" login --api-key - 2>/dev/null
signed_in() { chatgpt_sign_in "$1" "$chatgpt"; }
export CODEX_HOME="$chatgpt"
signed_in alice; "$bin" login switch x >/dev/null 2>&1 || true
signed_in bob; "$bin" login switch alice@example.com 2>/dev/null
"$bin" login switch bob@example.com 2>/dev/null

# Each hyperfine run holds its floor and the same command of every binary, so a ratio compares
# figures taken under the same load. hyperfine takes one --prepare for all commands or one per
# command: `true` where none is needed.
#   timed NAME FLOOR-COMMAND CODEX-ARGS [PREPARE-ARGS]
timed() {
  local name=$1 floor=$2 what=$3 prepare=${4:-} args=() b tag
  args=(-n "floor: $floor" --prepare true "$floor")
  for b in "${bins[@]}"; do
    tag=$([ "$b" = "$bin" ] && echo new || echo base)
    args+=(-n "$tag $name" --prepare "${prepare:+$b $prepare}" "$b $what")
    [ -n "$prepare" ] || args[${#args[@]}-2]=true
  done
  hyperfine -N --warmup 30 --runs "${RUNS:-300}" --export-json "$work/h.json" "${args[@]}" >/dev/null 2>&1
  python3 - "$work/h.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["results"]
floor = rows[0]["median"]
print(f"{rows[0]['command']:<44} median {floor*1000:7.3f} ms")
for r in rows[1:]:
    print(f"  {r['command']:<42} median {r['median']*1000:7.3f} ms   {r['median']/floor:5.2f}x the floor")
PY
}
CODEX_HOME="$api" timed "--version" "cat $api/auth.json" "--version"
CODEX_HOME="$api" timed "login status (API key)" "cat $api/auth.json" "login status"
timed "login status (ChatGPT)" "cat $chatgpt/auth.json" "login status"
timed "login token (valid ChatGPT token)" "cat $chatgpt/auth.json" "login token"
# A switch writes durably (temp file, fsync, rename, fsync of the folder): its floor is one
# durable copy of the account's file, not a read.
timed "login switch" "dd if=$chatgpt/accounts/alice@example.com.json of=$work/copy conv=fsync status=none" \
  "login switch alice@example.com" "login switch bob@example.com"

instructions() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | awk '/Collected/{print $4}'; }
faults() { /usr/bin/time -f '%R faults, peak RSS %M KB' "$@" 2>&1 >/dev/null | tail -n1; }
echo "instructions  cat auth.json:              $(instructions cat "$chatgpt/auth.json")"
for b in "${bins[@]}"; do
  tag=$([ "$b" = "$bin" ] && echo new || echo base)
  echo "instructions  $tag --version:              $(instructions "$b" --version)"
  echo "instructions  $tag status (API key):       $(CODEX_HOME=$api instructions "$b" login status)"
  echo "instructions  $tag status (ChatGPT):       $(instructions "$b" login status)"
  echo "memory        $tag status (ChatGPT):       $(faults "$b" login status)"
  echo "size          $tag:                        $(stat -c %s "$b") bytes"
done
echo "memory        cat auth.json:              $(faults cat "$chatgpt/auth.json")"

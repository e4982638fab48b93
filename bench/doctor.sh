#!/usr/bin/env bash
# How long `codex doctor` takes when nothing answers: an issuer and a ChatGPT backend that accept
# connections and stay silent, and a keyring daemon that is stopped (SIGSTOP). The tests
# (tests/doctor.rs) check that the run ends and what it says; this prints how long it took.
# Targets: silent endpoints about 10 s (doctor's deadline for all its checks), a hung keyring
# within a few seconds (each keyring call waits at most 3 s).
source "$(dirname "$0")/lib.sh"
need dbus-daemon dbus
need gnome-keyring-daemon gnome-keyring
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null; kill "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
unset RUST_LOG HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy NO_PROXY no_proxy

# seconds CMD...: wall time of one run, in seconds.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):6.2f} s')" "$start" "$end"
}

# A port that completes connections and never answers: listening, never accepting. Its number
# goes to $work/NAME.
silent() {
  python3 -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
time.sleep(3600)' >"$work/$1" 2>/dev/null &
  pids+=($!)
}
silent issuer
silent api
for _ in $(seq 50); do [ -s "$work/issuer" ] && [ -s "$work/api" ] && break; sleep 0.1; done
issuer=$(cat "$work/issuer")
api=$(cat "$work/api")

export CODEX_HOME="$work/home"
mkdir -m 700 "$CODEX_HOME"
python3 - "$issuer" >"$CODEX_HOME/auth.json" <<'PY'
import base64, json, sys, time
def b64(o): return base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
def jwt(claims): return f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64(claims)}.c2ln"
exp = int(time.time()) + 3600
auth = {"chatgpt_plan_type": "plus", "chatgpt_account_id": "acct-bench"}
print(json.dumps({"auth_mode": "chatgpt", "OPENAI_API_KEY": None, "tokens": {
    "id_token": jwt({"email": "bench@example.com", "https://api.openai.com/auth": auth, "exp": exp}),
    "access_token": jwt({"exp": exp, "sub": "user"}), "refresh_token": "rt-bench",
    "account_id": "acct-bench", "oauth_provenance": {"issuer": f"http://127.0.0.1:{sys.argv[1]}",
    "client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "protocol": "openai"}},
    "last_refresh": "2026-01-01T00:00:00Z"}, indent=2))
PY
chmod 600 "$CODEX_HOME/auth.json"
printf 'chatgpt_base_url = "http://127.0.0.1:%s/backend-api/"\n' "$api" >"$CODEX_HOME/config.toml"
for run in 1 2 3; do
  echo "doctor, silent issuer and API (run $run):  $(seconds "$bin" doctor)"
done

# A private session bus with gnome-keyring on it, then stopped.
bus_dir="$work/bus"
mkdir -m 700 "$bus_dir"
cat >"$bus_dir/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=$bus_dir/socket</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
<allow own="*"/></policy></busconfig>
EOF
dbus-daemon --config-file="$bus_dir/bus.conf" --nofork --print-address=1 >"$bus_dir/address" 2>/dev/null &
pids+=($!)
for _ in $(seq 50); do [ -s "$bus_dir/address" ] && break; sleep 0.1; done
export DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$bus_dir/address")
printf 'bench-keyring-password' | env -i PATH="$PATH" DBUS_SESSION_BUS_ADDRESS="$DBUS_SESSION_BUS_ADDRESS" \
  HOME="$bus_dir" XDG_DATA_HOME="$bus_dir/data" XDG_RUNTIME_DIR="$bus_dir" \
  gnome-keyring-daemon --foreground --components=secrets --unlock >/dev/null 2>&1 &
keyring=$!
pids+=($keyring)
for _ in $(seq 100); do
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true' && break
  sleep 0.05
done
export CODEX_HOME="$work/keyring-home"
mkdir -m 700 "$CODEX_HOME"
printf 'cli_auth_credentials_store = "keyring"\n' >"$CODEX_HOME/config.toml"
kill -STOP "$keyring"
for run in 1 2 3; do
  echo "doctor --offline, hung keyring (run $run):  $(seconds "$bin" doctor --offline)"
done

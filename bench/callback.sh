#!/usr/bin/env bash
# The browser sign-in's callback server under held-open connections: how fast the browser's page
# is answered while 200 idle and 200 slow (a byte a second) connections are held, and how soon
# the server closes those. The tests (tests/callback_hardening.rs) check that it happens; this
# prints how fast. Targets: the page within 1 s, every held connection closed within the head
# timeout (10 s) plus a little.
source "$(dirname "$0")/lib.sh"
home=$(mktemp -d)
login_pid=
cleanup() {
  [ -n "$login_pid" ] && kill "$login_pid" 2>/dev/null
  rm -rf "$home"
}
trap cleanup EXIT
export CODEX_HOME="$home"
unset RUST_LOG

# The default issuer needs no network before the callback server listens; nobody signs in.
"$bin" login --no-browser --port 0 --json >"$home/events" 2>/dev/null &
login_pid=$!
for _ in $(seq 100); do
  grep -q '"port"' "$home/events" 2>/dev/null && break
  sleep 0.1
done
port=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["port"])' "$home/events")

python3 - "$port" <<'PY'
import socket, statistics, sys, threading, time

port = int(sys.argv[1])

def connect():
    return socket.create_connection(("127.0.0.1", port))

def page():
    start = time.monotonic()
    s = connect()
    s.sendall(b"GET /success HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    answer = b""
    while chunk := s.recv(65536):
        answer += chunk
    s.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
    return time.monotonic() - start

def ms(seconds):
    return f"{seconds * 1000:8.1f} ms"

quiet = [page() for _ in range(20)]
print(f"page, nothing held:             median {ms(statistics.median(quiet))}   max {ms(max(quiet))}")

opened = time.monotonic()
idle = [connect() for _ in range(200)]
slow = [connect() for _ in range(200)]
stop = threading.Event()
text = b"GET /auth/callback?state=guess&code=guess HTTP/1.1\r\nHost: 127.0.0.1\r\n"

def trickle():
    i = 0
    while not stop.is_set():
        for s in slow:
            try:
                s.send(text[i % len(text):][:1])
            except OSError:
                pass
        i += 1
        stop.wait(1)

threading.Thread(target=trickle, daemon=True).start()
time.sleep(2.5)
held = [page() for _ in range(20)]
print(f"page, 400 connections held:     median {ms(statistics.median(held))}   max {ms(max(held))}")

def closed_after(streams):
    last = 0.0
    for s in streams:
        s.settimeout(120)
        try:
            while s.recv(65536):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
        last = time.monotonic() - opened
    return last

print(f"last idle connection closed:    {closed_after(idle):8.1f} s after it opened")
print(f"last slow connection closed:    {closed_after(slow):8.1f} s after it opened")
stop.set()
PY

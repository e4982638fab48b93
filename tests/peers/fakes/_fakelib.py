"""Shared plumbing for the fake OpenAI servers: request parsing, the JSON-lines request log,
scripted/scenario responses, the READY line. Stdlib only; imported by the fake_*.py servers
(their folder is on sys.path when run as `python3 fake_x.py`)."""

import argparse
import base64
import copy
import hashlib
import json
import secrets
import socket
import ssl
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


# ---------------------------------------------------------------------------- small helpers

def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def s256(verifier: str) -> str:
    return b64u(hashlib.sha256(verifier.encode()).digest())


def make_jwt(claims: dict) -> str:
    """RS256-looking JWT with a random signature: our client never verifies signatures."""
    header = {"alg": "RS256", "kid": "fake-key-1", "typ": "JWT"}
    enc = lambda o: b64u(json.dumps(o, separators=(",", ":")).encode())
    return f"{enc(header)}.{enc(claims)}.{b64u(secrets.token_bytes(256))}"


def decode_jwt(token: str):
    """Payload of a JWT (no verification), or None if it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        pad = "=" * (-len(parts[1]) % 4)
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + pad))
        return payload if isinstance(payload, dict) else None
    except Exception:
        return None


def flat_pairs(pairs):
    """[(k, v)] -> {k: v}; a repeated key becomes a list of its values."""
    out = {}
    for k, v in pairs:
        if k in out:
            out[k] = out[k] + [v] if isinstance(out[k], list) else [out[k], v]
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------------------- request

class Request:
    def __init__(self, handler: BaseHTTPRequestHandler, raw: bytes):
        url = urlsplit(handler.path)
        self.method = handler.command
        self.path = url.path
        self.query_pairs = parse_qsl(url.query, keep_blank_values=True)
        self.query = flat_pairs(self.query_pairs)
        self.headers = {}
        for k, v in handler.headers.items():
            k = k.lower()
            self.headers[k] = f"{self.headers[k]}, {v}" if k in self.headers else v
        self.raw = raw
        self.body = raw.decode("utf-8", errors="replace")
        self.body_type, self.parsed = self._parse()
        self.t = int(time.time() * 1000)

    def _parse(self):
        ctype = self.headers.get("content-type", "").lower()
        if not self.body:
            return "empty", None
        if "x-www-form-urlencoded" in ctype:
            return "form", flat_pairs(parse_qsl(self.body, keep_blank_values=True))
        try:
            return "json", json.loads(self.body)
        except ValueError:
            pass
        if not ctype and "=" in self.body:
            return "form", flat_pairs(parse_qsl(self.body, keep_blank_values=True))
        return "raw", None

    def log_record(self):
        return {"t": self.t, "method": self.method, "path": self.path, "query": self.query,
                "headers": self.headers, "body": self.body, "body_type": self.body_type,
                "parsed": self.parsed}

    def field(self, key):
        """A value from the parsed body (dict) or else the query string."""
        if isinstance(self.parsed, dict) and key in self.parsed:
            return self.parsed[key]
        return self.query.get(key)


# ---------------------------------------------------------------------------- script

class Script:
    """Canned responses. An entry answers the first request(s) it matches, in list order,
    `repeat` times (default 1, -1 = forever), then is used up."""

    def __init__(self):
        self.entries = []
        self.lock = threading.Lock()

    def add(self, entries, front=False):
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ValueError("a script is a JSON list of objects")
        prepared = []
        for e in entries:
            e = copy.deepcopy(e)
            e["_left"] = int(e.get("repeat", 1))
            prepared.append(e)
        with self.lock:
            self.entries = prepared + self.entries if front else self.entries + prepared

    @staticmethod
    def matches(e, req: Request):
        p = e.get("path")
        if p and p != "*" and req.path != p and not req.path.endswith(p):
            return False
        if e.get("method") and e["method"].upper() != req.method:
            return False
        for k, v in (e.get("match") or {}).items():
            if req.field(k) != v:
                return False
        return True

    def take(self, req: Request):
        with self.lock:
            for e in self.entries:
                if e["_left"] != 0 and self.matches(e, req):
                    if e["_left"] > 0:
                        e["_left"] -= 1
                    return e
        return None


def scenario_entries(spec: str, table: dict):
    """'name[:N],name2[:N]' -> script entries, using table[name] as the entry template."""
    out = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, _, n = item.partition(":")
        if name not in table:
            sys.exit(f"unknown scenario `{name}`; known: {', '.join(sorted(table))}")
        e = copy.deepcopy(table[name])
        e["repeat"] = int(n) if n else -1
        out.append(e)
    return out


# ---------------------------------------------------------------------------- handler

class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "fake-openai/1"

    def date_time_string(self, timestamp=None):
        """The `Date` header, off by --clock-offset seconds (a server whose clock is wrong)."""
        if timestamp is None:
            timestamp = time.time()
        return super().date_time_string(timestamp + self.server.fake.args.clock_offset)

    # servers override these
    def route(self, req: Request):
        self.send_json(404, {"error": {"message": f"no route for {req.method} {req.path}"}})

    def custom_action(self, action, entry, req: Request):
        self.send_json(500, {"error": {"message": f"unknown script action `{action}`"}})

    def default_error_body(self, status: int):
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "error"
        return {"error": {"message": phrase, "type": "server_error", "param": None, "code": None}}

    def stats(self):
        return {"requests": dict(self.server.fake.path_counts)}

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    # -- dispatch
    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _dispatch(self):
        req = Request(self, self._read_body())
        fake = self.server.fake
        if req.path.startswith("/_fake/"):
            return self._control(req)
        fake.log(req)
        entry = fake.script.take(req)
        if entry is None:
            return self.route(req)
        if entry.get("delay_ms"):
            time.sleep(entry["delay_ms"] / 1000)
        action = entry.get("action") or (
            "respond" if any(k in entry for k in ("status", "json", "body")) else "default")
        if action == "default":
            self.route(req)
        elif action == "respond":
            status = int(entry.get("status", 200))
            headers = entry.get("headers") or {}
            if "body" in entry:
                self.send_raw(status, entry["body"].encode(),
                              headers.get("Content-Type", "text/plain; charset=utf-8"), headers)
            else:
                body = entry["json"] if "json" in entry else (
                    {} if status < 400 else self.default_error_body(status))
                self.send_json(status, body, headers)
        elif action == "hang":
            self.hang()
        elif action == "close":
            self.drop()
        elif action == "malformed":
            self.send_raw(int(entry.get("status", 200)),
                          b'{"access_token": "abc", "id_token": ', "application/json")
        else:
            self.custom_action(action, entry, req)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def _control(self, req: Request):
        if req.path == "/_fake/script" and req.method == "POST":
            try:
                self.server.fake.script.add(json.loads(req.body))
            except ValueError as e:
                return self.send_json(400, {"error": str(e)})
            return self.send_json(200, {"ok": True})
        if req.path == "/_fake/stats":
            return self.send_json(200, self.stats())
        self.send_json(404, {"error": "unknown control path"})

    # -- responses
    def send_raw(self, status, body: bytes, ctype, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            if k.lower() not in ("content-type", "content-length"):
                self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj, headers=None):
        self.send_raw(status, json.dumps(obj).encode(), "application/json", headers)

    def send_text(self, status, text, headers=None):
        self.send_raw(status, text.encode(), "text/plain; charset=utf-8", headers)

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def hang(self):
        """Accept the request and never answer (until --hang-seconds pass, then drop)."""
        time.sleep(self.server.fake.hang_seconds)
        self.drop()

    def drop(self):
        """Close the connection abruptly, mid-whatever."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- chunked streaming (SSE)
    def start_stream(self, status, ctype, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()

    def write_chunk(self, data: bytes):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
                            ssl.SSLError)):
            return  # includes TLS handshakes the client gave up on (an untrusted certificate)
        super().handle_error(request, client_address)


class Fake:
    """Per-process state shared by handler threads: log, script, options."""

    def __init__(self, args):
        self.args = args
        self.script = Script()
        self.hang_seconds = args.hang_seconds
        self.lock = threading.Lock()
        self._log = open(args.log, "a", encoding="utf-8") if args.log else None
        self.base_url = None
        self.path_counts = {}

    def log(self, req: Request):
        with self.lock:
            key = f"{req.method} {req.path}"
            self.path_counts[key] = self.path_counts.get(key, 0) + 1
        if self._log:
            line = json.dumps(req.log_record(), ensure_ascii=False)
            with self.lock:
                self._log.write(line + "\n")
                self._log.flush()


def common_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = a free one)")
    p.add_argument("--log", help="append every request as one JSON line to this file")
    p.add_argument("--script", help="JSON file: list of canned responses (see README.md)")
    p.add_argument("--scenario", action="append", default=[],
                   help="NAME[:N][,NAME[:N]...]; repeatable (see README.md)")
    p.add_argument("--hang-seconds", type=float, default=3600,
                   help="how long `hang`/`stall` keeps a request open")
    p.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    p.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    p.add_argument("--clock-offset", type=float, default=0,
                   help="seconds added to the time in every `Date` header")
    return p


def serve(handler_cls, fake: Fake, scenario_table: dict):
    args = fake.args
    for spec in args.scenario:
        fake.script.add(scenario_entries(spec, scenario_table))
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            fake.script.add(json.load(f))
    server = FakeServer(("127.0.0.1", args.port), handler_cls)
    server.fake = fake
    scheme = "http"
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            sys.exit("--tls-cert and --tls-key go together")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake happens on the first read, in the request's own thread, so a client
        # that refuses the certificate cannot stall the accept loop.
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
        scheme = "https"
    fake.base_url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    print(f"READY {fake.base_url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass

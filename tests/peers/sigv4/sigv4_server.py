#!/usr/bin/env python3
"""A Bedrock-mantle stand-in that checks AWS SigV4 signatures INDEPENDENTLY of the client: it
rebuilds each received request (method, URL, body, the headers the client says it signed) and
signs it again with botocore's SigV4Auth (PyPI `botocore`, pinned in requirements.txt), using the
secret it was started with and the client's own timestamp, then compares the Authorization
headers byte for byte. A match is answered with a short Responses-API event stream; a mismatch
with AWS's 403 text. Prints `READY http://127.0.0.1:<port>` when listening.

Run with the venv that scripts/test creates: tests/peers/sigv4/.venv/bin/python sigv4_server.py
"""

import argparse
import datetime
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<akid>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
    r"Signature=(?P<sig>[0-9a-f]{64})$")
MISMATCH = ("The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.")
SIGN_LOCK = threading.Lock()  # get_current_datetime is patched module-wide while signing


def sse(text):
    events = [{"type": "response.created", "response": {"id": "resp_sigv4", "status": "in_progress"}}]
    for piece in text.split(" "):
        events.append({"type": "response.output_text.delta", "item_id": "msg_1",
                       "output_index": 0, "content_index": 0,
                       "delta": piece if len(events) == 1 else " " + piece})
    events.append({"type": "response.completed", "response": {"id": "resp_sigv4", "status": "completed"}})
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n"
                   for e in events).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        args = self.server.args
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        verdict, detail = self.verify(args, headers, body)
        record = {"path": self.path, "verdict": verdict, "detail": detail,
                  "signed_headers": sorted(AUTH_RE.match(headers.get("authorization", "")).group("signed").split(";"))
                  if AUTH_RE.match(headers.get("authorization", "")) else None,
                  "has_security_token": "x-amz-security-token" in headers,
                  "authorization_scheme": headers.get("authorization", "").split(" ")[0]}
        if args.log:
            with self.server.log_lock, open(args.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        if verdict != "verified":
            out = json.dumps({"message": MISMATCH if verdict == "mismatch" else detail}).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-amzn-ErrorType", "InvalidSignatureException")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        out = sse(args.text)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def verify(self, args, headers, body):
        m = AUTH_RE.match(headers.get("authorization", ""))
        if not m:
            return "unsigned", "Authorization header is missing or not AWS4-HMAC-SHA256"
        if m["akid"] != args.access_key:
            return "bad-key-id", f"The security token included in the request is invalid ({m['akid']})"
        if (m["region"], m["service"]) != (args.region, args.service):
            return "bad-scope", f"Credential should be scoped to {args.region}/{args.service}, not {m['region']}/{m['service']}"
        if args.session_token and headers.get("x-amz-security-token") != args.session_token:
            return "bad-token", "The security token included in the request is invalid"
        amz_date = headers.get("x-amz-date", "")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        except ValueError:
            return "bad-date", "X-Amz-Date is missing or malformed"
        if abs((datetime.datetime.utcnow() - when).total_seconds()) > 300:
            return "skewed", "Signature expired: the request time is too skewed"
        signed = m["signed"].split(";")
        rebuilt = AWSRequest(method=self.command, url=f"http://{headers['host']}{self.path}",
                             data=body, headers={h: headers[h] for h in signed if h in headers})
        creds = Credentials(args.access_key, args.secret_key, args.session_token or None)
        with SIGN_LOCK, mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
            SigV4Auth(creds, args.service, args.region).add_auth(rebuilt)
        expected = rebuilt.headers["Authorization"]
        if expected != headers["authorization"]:
            return "mismatch", {"expected": expected, "received": headers["authorization"]}
        return "verified", None


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    p.add_argument("--session-token", default="")
    p.add_argument("--region", required=True)
    p.add_argument("--service", default="bedrock-mantle")
    p.add_argument("--text", default="signature verified")
    p.add_argument("--log", help="append one JSON line per request (no secrets)")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.args = args
    server.log_lock = threading.Lock()
    print(f"READY http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())

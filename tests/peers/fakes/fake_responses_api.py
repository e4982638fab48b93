#!/usr/bin/env python3
"""Fake of OpenAI's Responses API (POST <any base>/responses, stream: true, Server-Sent Events),
with OpenAI-style Bearer auth or Azure-style `api-key` + `api-version`, and failure scenarios."""

import json
import secrets
import time

from _fakelib import Fake, FakeHandler, common_args, decode_jwt, serve

AZURE_401 = {"error": {"code": "401", "message": (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
    "a valid key for an active subscription and use a correct regional API endpoint for your "
    "resource.")}}

SCENARIOS = {
    "ok": {"path": "/responses", "action": "stream"},
    "401": {"path": "/responses", "status": 401},
    "429": {"path": "/responses", "status": 429},
    "500": {"path": "/responses", "status": 500},
    "502": {"path": "/responses", "status": 502},
    "503": {"path": "/responses", "status": 503},
    "failed": {"path": "/responses", "action": "failed"},
    "error": {"path": "/responses", "action": "error"},
    "disconnect": {"path": "/responses", "action": "disconnect"},
    "stall": {"path": "/responses", "action": "stall"},
    "hang": {"path": "/responses", "action": "hang"},
    "malformed": {"path": "/responses", "action": "sse_malformed"},
}


def split_text(text):
    """Word-ish deltas like a tokenizer makes: 'Hello from fake' -> 'Hello', ' from', ' fake';
    a single word is cut into 3-char pieces so there are always several deltas."""
    words = text.split(" ")
    if len(words) > 1:
        return [words[0]] + [" " + w for w in words[1:]]
    return [text[i:i + 3] for i in range(0, len(text), 3)] or [""]


class Handler(FakeHandler):
    def default_error_body(self, status):
        if status == 401:
            return self.openai_401(None)
        if status == 429:
            return {"error": {"message": "Rate limit reached for gpt-5 in organization org-fake "
                              "on tokens per min (TPM): Limit 30000, Used 30000, Requested 100. "
                              "Please try again in 1s.", "type": "tokens", "param": None,
                              "code": "rate_limit_exceeded"}}
        if status == 503:
            return {"error": {"message": "The server is overloaded or not ready yet.",
                              "type": "server_error", "param": None, "code": None}}
        return {"error": {"message": "The server had an error while processing your request. "
                          "Sorry about that!", "type": "server_error", "param": None,
                          "code": None}}

    def send_json(self, status, obj, headers=None):
        headers = dict(headers or {})
        headers.setdefault("x-request-id", "req_" + secrets.token_hex(16))
        if status == 429:
            headers.setdefault("Retry-After", str(self.server.fake.args.retry_after))
        if status == 502 and obj == self.default_error_body(502):  # Cloudflare says it in HTML
            body = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>" \
                   b"502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>"
            return self.send_raw(502, body, "text/html", headers)
        super().send_json(status, obj, headers)

    @staticmethod
    def openai_401(key):
        if not key:
            return {"error": {"message": "You didn't provide an API key. You need to provide your "
                              "API key in an Authorization header using Bearer auth (i.e. "
                              "Authorization: Bearer YOUR_KEY), or as the password field (with "
                              "blank username) if you're accessing the API from your browser "
                              "and are prompted for a username. You can obtain an API key from "
                              "https://platform.openai.com/account/api-keys.",
                              "type": "invalid_request_error", "param": None, "code": None}}
        shown = key[:3] + "*" * max(len(key) - 7, 0) + key[-4:] if len(key) > 8 else key
        return {"error": {"message": f"Incorrect API key provided: {shown}. You can find your API "
                          "key at https://platform.openai.com/account/api-keys.",
                          "type": "invalid_request_error", "param": None,
                          "code": "invalid_api_key"}}

    # ------------------------------------------------------------------ routing
    def route(self, req):
        if req.method == "GET" and req.path.endswith("/models"):
            if self.authorized(req):
                self.send_json(200, {"object": "list", "data": [
                    {"id": "gpt-5.5", "object": "model", "created": 1767225600,
                     "owned_by": "openai"}]})
            return
        if not (req.method == "POST" and req.path.endswith("/responses")):
            return self.send_json(404, {"error": {"message": f"Invalid URL ({req.method} "
                                                  f"{req.path})", "type": "invalid_request_error",
                                                  "param": None, "code": None}})
        if not self.authorized(req):
            return
        if not self.valid_body(req):
            return
        self.stream(req)

    def custom_action(self, action, entry, req):
        fns = {"stream": self.stream, "failed": self.failed, "error": self.error_event,
               "disconnect": self.disconnect, "stall": self.stall,
               "sse_malformed": self.sse_malformed, "events": self.events}
        fn = fns.get(action)
        if fn is None:
            return super().custom_action(action, entry, req)
        fn(req, entry)

    def authorized(self, req):
        a = self.server.fake.args
        if a.azure:
            key = req.headers.get("api-key", "")
            if not key or (a.accept_api_key and key not in a.accept_api_key):
                self.send_json(401, AZURE_401)
                return False
            if "api-version" not in req.query:
                self.send_json(404, {"error": {"code": "404", "message": "Resource not found"}})
                return False
            return True
        auth = req.headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        if token and token in a.accept_bearer:
            return True
        if a.accept_bearer_file:
            # The one token the server takes now, read at every request (a test rotates it).
            with open(a.accept_bearer_file) as f:
                current = f.read().strip()
            if token and token == current:
                return True
            self.send_json(401, self.openai_401(token))
            return False
        if token and a.accept_jwt:
            claims = decode_jwt(token)
            if claims is not None:
                if "exp" in claims and claims["exp"] <= time.time():
                    self.send_json(401, {"error": {
                        "message": "Provided authentication token is expired. Please try "
                                   "signing in again.", "type": "invalid_request_error",
                        "param": None, "code": "token_expired"}})
                    return False
                return True
        if token and not a.accept_bearer and not a.accept_jwt:
            return True  # no accept list configured: any bearer will do
        self.send_json(401, self.openai_401(token))
        return False

    def valid_body(self, req):
        b = req.parsed if req.body_type == "json" else None
        problem = None
        if not isinstance(b, dict):
            problem, param = "We could not parse the JSON body of your request.", None
        elif not b.get("model"):
            problem, param = "Missing required parameter: 'model'.", "model"
        elif "input" not in b:
            problem, param = "Missing required parameter: 'input'.", "input"
        elif b.get("stream") is not True:
            problem, param = "This fake only streams: set 'stream': true.", "stream"
        if problem:
            self.send_json(400, {"error": {"message": problem, "type": "invalid_request_error",
                                           "param": param, "code": None}})
            return False
        return True

    # ------------------------------------------------------------------ SSE
    def _sse_begin(self, req, entry=None):
        body = req.parsed if isinstance(req.parsed, dict) else {}
        self._seq = 0
        self._resp = {
            "id": "resp_" + secrets.token_hex(24), "object": "response",
            "created_at": int(time.time()), "status": "in_progress", "background": False,
            "error": None, "incomplete_details": None, "instructions": body.get("instructions"),
            "max_output_tokens": None, "model": body.get("model", "gpt-5"), "output": [],
            "parallel_tool_calls": True, "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None}, "store": False,
            "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto",
            "tools": [], "top_p": 1.0, "truncation": "disabled", "usage": None, "user": None,
            "metadata": {}}
        headers = {"x-request-id": "req_" + secrets.token_hex(16), "openai-processing-ms": "42"}
        headers.update((entry or {}).get("headers") or {})
        self.start_stream(200, "text/event-stream; charset=utf-8", headers)
        self.emit("response.created", response=dict(self._resp))
        self.emit("response.in_progress", response=dict(self._resp))

    def emit(self, etype, **fields):
        data = {"type": etype, "sequence_number": self._seq, **fields}
        self._seq += 1
        payload = json.dumps(data, separators=(",", ":"))
        self.write_chunk(f"event: {etype}\ndata: {payload}\n\n".encode())

    def _message_start(self):
        self._item_id = "msg_" + secrets.token_hex(24)
        self.emit("response.output_item.added", output_index=0, item={
            "id": self._item_id, "type": "message", "status": "in_progress", "content": [],
            "role": "assistant"})
        self.emit("response.content_part.added", item_id=self._item_id, output_index=0,
                  content_index=0, part={"type": "output_text", "annotations": [],
                                         "logprobs": [], "text": ""})

    def _delta(self, piece):
        delay = self.server.fake.args.delta_delay_ms
        if delay:
            time.sleep(delay / 1000)
        self.emit("response.output_text.delta", item_id=self._item_id, output_index=0,
                  content_index=0, delta=piece, logprobs=[])

    def stream(self, req, entry=None):
        text = (entry or {}).get("text", self.server.fake.args.text)
        pieces = split_text(text)
        self._sse_begin(req, entry)
        self._message_start()
        for piece in pieces:
            self._delta(piece)
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
        ids = dict(item_id=self._item_id, output_index=0, content_index=0)
        self.emit("response.output_text.done", **ids, text=text, logprobs=[])
        self.emit("response.content_part.done", **ids, part=part)
        item = {"id": self._item_id, "type": "message", "status": "completed",
                "content": [part], "role": "assistant"}
        self.emit("response.output_item.done", output_index=0, item=item)
        usage = {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": len(pieces), "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": 12 + len(pieces)}
        self.emit("response.completed", response={**self._resp, "status": "completed",
                                                  "output": [item], "usage": usage})
        self.end_stream()

    def failed(self, req, entry=None):
        err = (entry or {}).get("error") or {"code": "server_error", "message":
                                             "The model failed to generate a response."}
        self._sse_begin(req, entry)
        self.emit("response.failed", response={**self._resp, "status": "failed", "error": err})
        self.end_stream()

    def error_event(self, req, entry=None):
        err = (entry or {}).get("error") or {"code": "server_error", "message":
                                             "An error occurred while processing your request."}
        self._sse_begin(req, entry)
        self.emit("error", code=err.get("code"), message=err.get("message"),
                  param=err.get("param"))
        self.end_stream()

    def disconnect(self, req, entry=None):
        self._sse_begin(req, entry)
        self._message_start()
        self._delta(split_text(self.server.fake.args.text)[0])
        self.drop()  # no terminating chunk: an incomplete body

    def stall(self, req, entry=None):
        self._sse_begin(req, entry)
        time.sleep(self.server.fake.hang_seconds)
        self.drop()

    def sse_malformed(self, req, entry=None):
        self._sse_begin(req, entry)
        self.write_chunk(b'event: response.output_text.delta\ndata: {"type": "response.outp\n\n')
        self.end_stream()

    def events(self, req, entry):
        """Custom stream: entry["events"] is a list of event objects (their `type` names the
        event; sequence_number is filled in); entry["then"]: "end" (default), "close", "stall"."""
        self._sse_begin(req, entry)
        for ev in entry.get("events", []):
            ev = dict(ev)
            self.emit(ev.pop("type"), **ev)
        then = entry.get("then", "end")
        if then == "close":
            return self.drop()
        if then == "stall":
            time.sleep(self.server.fake.hang_seconds)
            return self.drop()
        self.end_stream()


def main():
    p = common_args(__doc__)
    p.add_argument("--accept-bearer", action="append", default=[],
                   help="accepted Bearer token (repeatable); with none and no --accept-jwt, "
                        "any non-empty Bearer is accepted")
    p.add_argument("--accept-bearer-file",
                   help="accept only the Bearer token this file holds, read at every request")
    p.add_argument("--accept-jwt", action="store_true",
                   help="accept any Bearer that is a JWT with no exp or an unexpired one "
                        "(e.g. access tokens minted by fake_chatgpt_issuer.py); expired -> 401")
    p.add_argument("--azure", action="store_true",
                   help="Azure mode: require `api-key` header and `api-version` query")
    p.add_argument("--accept-api-key", action="append", default=[],
                   help="accepted Azure api-key (repeatable); none = any non-empty")
    p.add_argument("--text", default="Hello from fake", help="text streamed as deltas")
    p.add_argument("--delta-delay-ms", type=int, default=0)
    p.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds on 429")
    serve(Handler, Fake(p.parse_args()), SCENARIOS)


if __name__ == "__main__":
    main()

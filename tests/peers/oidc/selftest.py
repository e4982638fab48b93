#!/usr/bin/env python3
"""End-to-end self test of server.js + agent.js without the Rust CLI.

Plays the CLI: a loopback callback listener, PKCE, code exchange, refresh with
rotation and reuse detection, device flow (approve, deny, slow_down), revocation,
and checks the request log. Exits non-zero on the first failure.
"""
import base64
import hashlib
import http.server
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_ID = "codex-test-client"
SCOPE = "openid profile email offline_access api.connectors.read api.connectors.invoke"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
AUTH_CLAIM = "https://api.openai.com/auth"

# No proxy for loopback, whatever the environment says.
urllib.request.install_opener(urllib.request.build_opener(urllib.request.ProxyHandler({})))

CHECKS = 0


def check(cond, what):
    global CHECKS
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    CHECKS += 1
    print(f"ok   {what}")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_payload(tok: str) -> dict:
    parts = tok.split(".")
    check(len(parts) == 3, "token is a compact JWT")
    pad = "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(parts[1] + pad))


def http_req(url, form=None, json_body=None, method=None):
    data = None
    headers = {}
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read().decode()
            status = r.status
    except urllib.error.HTTPError as e:
        body = e.read().decode()
        status = e.code
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    return status, parsed, body


class Server:
    def __init__(self, env):
        self.log = tempfile.NamedTemporaryFile(prefix="oidc-log-", suffix=".jsonl", delete=False).name
        full = dict(os.environ)
        full.update({"PORT": "0", "LOG_FILE": self.log})
        full.update(env)
        t0 = time.time()
        self.proc = subprocess.Popen(
            ["node", os.path.join(HERE, "server.js")], cwd=HERE, env=full,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        check(line.startswith("READY http://127.0.0.1:"), f"server prints READY line ({line.strip()!r}, {time.time() - t0:.2f}s, log {self.log})")
        self.issuer = line.split()[1]
        check(not self.issuer.endswith("/"), "issuer has no trailing slash")
        st, self.disc, _ = http_req(self.issuer + "/.well-known/openid-configuration")
        check(st == 200, "discovery 200")
        for k in ("authorization_endpoint", "token_endpoint", "device_authorization_endpoint",
                  "revocation_endpoint", "jwks_uri"):
            check(self.disc.get(k, "").startswith(self.issuer + "/"), f"discovery has {k}")

    def log_lines(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = None
        err = self.proc.stderr.read()
        check(rc == 0, f"server exits 0 on SIGTERM (rc={rc})")
        os.unlink(self.log)  # kept (path printed in the READY check) when a check fails first
        return err


class Callback:
    """The CLI's loopback listener."""

    def __init__(self):
        self.hits = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                outer.hits.append((u.path, q))
                body = b"callback ok\n" if "code" in q else b"callback error\n"
                self.send_response(200 if u.path == "/auth/callback" else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def agent(*args):
    p = subprocess.run(["node", os.path.join(HERE, "agent.js"), *args], cwd=HERE,
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def authorize_url(srv, redirect_uri, state, challenge, extra=None):
    q = {
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": redirect_uri,
        "scope": SCOPE, "code_challenge": challenge, "code_challenge_method": "S256",
        "state": state, "id_token_add_organizations": "true",
        "codex_cli_simplified_flow": "true", "originator": "codex_cli_rs",
    }
    if extra is not None:
        q.update(extra)
        q = {k: v for k, v in q.items() if v is not None}
    return srv.disc["authorization_endpoint"] + "?" + urllib.parse.urlencode(q)


def pkce():
    verifier = b64url(secrets.token_bytes(64))
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge


def browser_login(srv, cb, host="127.0.0.1", login_args=()):
    verifier, challenge = pkce()
    state = b64url(secrets.token_bytes(32))
    redirect_uri = f"http://{host}:{cb.port}/auth/callback"
    n = len(cb.hits)
    rc, out, err = agent("authorize", authorize_url(srv, redirect_uri, state, challenge), *login_args)
    check(rc == 0, f"agent authorize exits 0 via {host} (rc={rc}, stderr={err.strip()!r})")
    check(out.startswith("STATUS 200\n") and "callback ok" in out, f"agent prints callback status+body ({out.strip()!r})")
    check(len(cb.hits) == n + 1, "loopback listener got exactly one request")
    path, q = cb.hits[-1]
    check(path == "/auth/callback" and q.get("state") == state and q.get("code"), "callback has code and matching state")
    check(q.get("iss") == srv.issuer, "callback carries iss (RFC 9207)")
    st, tok, body = http_req(srv.disc["token_endpoint"], form={
        "grant_type": "authorization_code", "code": q["code"], "redirect_uri": redirect_uri,
        "client_id": CLIENT_ID, "code_verifier": verifier})
    check(st == 200, f"code exchange 200 ({body[:200]})")
    return tok, q["code"], redirect_uri, verifier


def check_tokens(tok, jwt_at=True, login="alice"):
    for k in ("id_token", "access_token", "refresh_token", "expires_in", "token_type"):
        check(k in tok, f"token response has {k}")
    idt = jwt_payload(tok["id_token"])
    check(idt.get("email") == f"{login}@example.com" and idt.get("email_verified") is True, "id_token has email + email_verified")
    auth = idt.get(AUTH_CLAIM) or {}
    check(auth.get("chatgpt_plan_type") == "plus" and auth.get("chatgpt_user_id") == f"user-{login}"
          and auth.get("chatgpt_account_id") == ("acct-test-123" if login == "alice" else f"acct-{login}"),
          f"id_token has {AUTH_CLAIM} ({auth})")
    check(idt.get("sub") == login and idt.get("aud") == CLIENT_ID, "id_token sub/aud")
    if jwt_at:
        at = jwt_payload(tok["access_token"])
        check(isinstance(at.get("exp"), int) and at["exp"] > time.time(), "access token is a JWT with exp")
        check(at.get(AUTH_CLAIM, {}).get("chatgpt_account_id"), "JWT access token carries the auth claim")
        return at
    check(tok["access_token"].count(".") == 0, "access token is opaque")
    return None


def refresh(srv, rt):
    return http_req(srv.disc["token_endpoint"], form={
        "grant_type": "refresh_token", "refresh_token": rt, "client_id": CLIENT_ID})


def main():
    global CLIENT_ID
    cb = Callback()

    # ------------------------------------------------------------------ main server
    srv = Server({"DEVICE_INTERVAL": "1", "SLOW_DOWN": "1", "ACCESS_TTL": "120"})
    print(f"issuer {srv.issuer}, callback port {cb.port}")

    tok, code, redirect_uri, verifier = browser_login(srv, cb)
    at = check_tokens(tok)
    check(at["exp"] - at["iat"] == 120 and tok["expires_in"] <= 120, "ACCESS_TTL applies to the JWT access token")

    # localhost redirect on the same arbitrary port (RFC 8252 7.3)
    tok_l, *_ = browser_login(srv, cb, host="localhost", login_args=("--login", "bob"))
    check_tokens(tok_l, login="bob")

    # another arbitrary port is accepted too
    cb2 = Callback()
    browser_login(srv, cb2)
    cb2.close()

    # unregistered path is rejected by the provider (no redirect)
    _, ch = pkce()
    rc, out, _ = agent("authorize", authorize_url(srv, f"http://127.0.0.1:{cb.port}/evil", "s", ch))
    check(rc == 1 and "invalid_redirect_uri" in out, f"unregistered redirect path rejected ({out.strip()[:120]!r})")

    # PKCE is required
    n = len(cb.hits)
    rc, out, _ = agent("authorize", authorize_url(srv, f"http://127.0.0.1:{cb.port}/auth/callback", "st", None,
                                                  {"code_challenge": None, "code_challenge_method": None}))
    check(rc == 0 and cb.hits[-1][1].get("error") == "invalid_request" and len(cb.hits) == n + 1,
          f"missing PKCE -> error=invalid_request at the callback ({cb.hits[-1][1]})")

    # --deny
    _, ch = pkce()
    rc, out, _ = agent("authorize", authorize_url(srv, f"http://127.0.0.1:{cb.port}/auth/callback", "deny-state", ch), "--deny")
    q = cb.hits[-1][1]
    check(rc == 0 and q.get("error") == "access_denied" and q.get("state") == "deny-state" and "code" not in q,
          f"--deny -> error=access_denied ({q})")

    # --print-callback does not hit the listener
    n = len(cb.hits)
    v, ch = pkce()
    ru = f"http://127.0.0.1:{cb.port}/auth/callback"
    rc, out, _ = agent("authorize", authorize_url(srv, ru, "pc-state", ch), "--print-callback")
    lines = out.strip().splitlines()
    check(rc == 0 and len(lines) == 1 and lines[0].startswith(ru + "?") and len(cb.hits) == n,
          "--print-callback prints one URL and does not call the listener")
    pq = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(lines[0]).query))
    check(pq.get("state") == "pc-state" and pq.get("code"), "printed callback has code + state")

    # wrong verifier
    st, j, _ = http_req(srv.disc["token_endpoint"], form={
        "grant_type": "authorization_code", "code": pq["code"], "redirect_uri": ru,
        "client_id": CLIENT_ID, "code_verifier": verifier})
    check(st == 400 and j["error"] == "invalid_grant", "wrong code_verifier -> invalid_grant")
    st, pt, _ = http_req(srv.disc["token_endpoint"], form={
        "grant_type": "authorization_code", "code": pq["code"], "redirect_uri": ru,
        "client_id": CLIENT_ID, "code_verifier": v})
    check(st == 200, "... the same code with the right verifier still works")
    st, j, _ = http_req(srv.disc["token_endpoint"], form={
        "grant_type": "authorization_code", "code": pq["code"], "redirect_uri": ru,
        "client_id": CLIENT_ID, "code_verifier": v})
    check(st == 400 and j["error"] == "invalid_grant", "code reuse -> invalid_grant")
    st, j, _ = refresh(srv, pt["refresh_token"])
    check(st == 400 and j["error"] == "invalid_grant", "code reuse revoked the tokens issued from that code")

    # JSON body is rejected by the token endpoint
    st, j, _ = http_req(srv.disc["token_endpoint"], json_body={
        "grant_type": "refresh_token", "refresh_token": tok["refresh_token"], "client_id": CLIENT_ID})
    check(st == 400 and j["error"] == "invalid_request", f"JSON token request rejected ({j})")

    # ------------------------------------------------------------------ refresh rotation
    rt0 = tok["refresh_token"]
    st, r1, body = refresh(srv, rt0)
    check(st == 200 and r1["refresh_token"] != rt0, f"refresh #1 rotates ({body[:120]})")
    check_tokens(r1)
    st, r2, _ = refresh(srv, r1["refresh_token"])
    check(st == 200 and r2["refresh_token"] not in (rt0, r1["refresh_token"]), "refresh #2 rotates again")
    check_tokens(r2)
    st, j, _ = refresh(srv, rt0)
    check(st == 400 and j["error"] == "invalid_grant", f"reuse of a rotated refresh token -> invalid_grant ({j})")
    st, j, _ = refresh(srv, r2["refresh_token"])
    check(st == 400 and j["error"] == "invalid_grant", f"... and the newest refresh token is revoked too ({j})")

    # bob's grant is unaffected
    st, rb, _ = refresh(srv, tok_l["refresh_token"])
    check(st == 200, "another grant is unaffected by the reuse")

    # ------------------------------------------------------------------ device flow
    dev_ep = srv.disc["device_authorization_endpoint"]
    st, d, body = http_req(dev_ep, form={"client_id": CLIENT_ID, "scope": SCOPE})
    check(st == 200 and d.get("device_code") and d.get("user_code"), f"device authorization ({body[:200]})")
    check(d.get("interval") == 1, "DEVICE_INTERVAL adds interval")
    check(d.get("verification_uri") == srv.issuer + "/device", "verification_uri is {issuer}/device")
    poll = {"grant_type": DEVICE_GRANT, "device_code": d["device_code"], "client_id": CLIENT_ID}
    st, j, _ = http_req(srv.disc["token_endpoint"], form=poll)
    check(st == 400 and j["error"] == "slow_down", "SLOW_DOWN=1: first poll -> slow_down")
    st, j, _ = http_req(srv.disc["token_endpoint"], form=poll)
    check(st == 400 and j["error"] == "authorization_pending", "next poll -> authorization_pending")
    rc, out, err = agent("device", srv.issuer, d["user_code"])
    check(rc == 0 and out.startswith("RESULT success"), f"agent device approves ({out.strip()[:100]!r} {err.strip()!r})")
    st, dt, body = http_req(srv.disc["token_endpoint"], form=poll)
    check(st == 200, f"device poll -> tokens ({body[:200]})")
    check_tokens(dt)
    st, dr, _ = refresh(srv, dt["refresh_token"])
    check(st == 200 and dr["refresh_token"] != dt["refresh_token"], "device-flow refresh token refreshes")
    dt = dr
    st, j, _ = http_req(srv.disc["token_endpoint"], form=poll)
    check(st == 400 and j["error"] == "invalid_grant", "device code cannot be redeemed twice")

    # user code already used
    rc, out, _ = agent("device", srv.issuer, d["user_code"])
    check(rc == 1 and "RESULT error:invalid_user_code" in out, "reused user code is refused")

    # denied
    st, d2, _ = http_req(dev_ep, form={"client_id": CLIENT_ID, "scope": SCOPE})
    rc, out, _ = agent("device", srv.disc["device_authorization_endpoint"].rsplit("/device/", 1)[0] + "/device",
                       d2["user_code"], "--deny")
    check(rc == 0 and out.startswith("RESULT aborted"), f"agent device --deny ({out.strip()[:80]!r})")
    st, j, _ = http_req(srv.disc["token_endpoint"], form={**poll, "device_code": d2["device_code"]})
    check(st == 400 and j["error"] == "access_denied", f"denied device poll -> access_denied ({j})")

    # wrong user code
    rc, out, _ = agent("device", srv.issuer, "BCDF-GHJK")
    check(rc == 1 and "RESULT error:invalid_user_code" in out, "unknown user code is refused")

    # ------------------------------------------------------------------ revocation
    st, _, body = http_req(srv.disc["revocation_endpoint"], json_body={
        "token": dt["refresh_token"], "token_type_hint": "refresh_token", "client_id": CLIENT_ID})
    check(st == 400, f"JSON revocation request rejected ({body[:120]})")
    st, _, body = http_req(srv.disc["revocation_endpoint"], form={
        "token": dt["refresh_token"], "token_type_hint": "refresh_token", "client_id": CLIENT_ID})
    check(st == 200 and body == "", "revocation 200 with empty body")
    st, j, _ = refresh(srv, dt["refresh_token"])
    check(st == 400 and j["error"] == "invalid_grant", "revoked refresh token -> invalid_grant")
    st, _, _ = http_req(srv.disc["revocation_endpoint"], form={"token": "nope", "client_id": CLIENT_ID})
    check(st == 200, "revoking an unknown token -> 200")

    # ------------------------------------------------------------------ log
    log = srv.log_lines()
    check(all(isinstance(e.get("t"), int) and e.get("path") and e.get("method") and "status" in e for e in log),
          "every log line has t, path, method, status")
    token_path = urllib.parse.urlsplit(srv.disc["token_endpoint"]).path
    refreshes = [e for e in log if e["path"] == token_path and e.get("grant_type") == "refresh_token"]
    check(len(refreshes) == 9, f"log counts 9 refresh grants (got {len(refreshes)})")
    check(sum(1 for e in refreshes if e["content_type"] == "application/json") == 1, "log shows the one JSON refresh")
    first = next(e for e in log if e["path"] == token_path and e.get("grant_type") == "authorization_code")
    check(first["body"].get("code_verifier") == verifier and first["content_type"] == "application/x-www-form-urlencoded"
          and first["status"] == 200, "log keeps raw form values and status")
    check(any(e.get("wrapper") == "slow_down" and e["status"] == 400 for e in log), "log marks the slow_down reply")
    check(any(e.get("endpoint") == "revocation" and e["body"].get("token_type_hint") == "refresh_token" for e in log),
          "log has revocation bodies")
    check(any(e.get("endpoint") == "device_authorization" for e in log), "log has device authorization")
    check(any(e["path"].startswith("/interaction/") for e in log), "log has plain path+method lines")
    print("example log line:", json.dumps(refreshes[0]))
    err = srv.stop()
    if err.strip():
        print("server stderr:\n" + err.strip())

    # ------------------------------------------------------------------ variant server
    srv = Server({"ROTATE_REFRESH": "0", "ACCESS_TOKEN_FORMAT": "opaque", "ROUTES": "openai",
                  "CLIENT_ID": "other-client"})
    check(srv.disc["token_endpoint"] == srv.issuer + "/oauth/token"
          and srv.disc["authorization_endpoint"] == srv.issuer + "/oauth/authorize"
          and srv.disc["revocation_endpoint"] == srv.issuer + "/oauth/revoke", "ROUTES=openai paths")
    CLIENT_ID = "other-client"
    tok, *_ = browser_login(srv, cb)
    check_tokens(tok, jwt_at=False)
    st, r1, _ = refresh(srv, tok["refresh_token"])
    check(st == 200 and r1["refresh_token"] == tok["refresh_token"], "ROTATE_REFRESH=0 keeps the refresh token")
    check_tokens(r1, jwt_at=False)
    st, r2, _ = refresh(srv, tok["refresh_token"])
    check(st == 200, "ROTATE_REFRESH=0: same refresh token works again")
    st, d, _ = http_req(srv.disc["device_authorization_endpoint"], form={"client_id": CLIENT_ID, "scope": SCOPE})
    check(st == 200 and "interval" not in d, "no interval without DEVICE_INTERVAL")
    srv.stop()

    # DEVICE_TTL
    srv = Server({"DEVICE_TTL": "1"})
    CLIENT_ID = "codex-test-client"
    st, d, _ = http_req(srv.disc["device_authorization_endpoint"], form={"client_id": CLIENT_ID, "scope": SCOPE})
    check(d["expires_in"] == 1, "DEVICE_TTL sets expires_in")
    time.sleep(2.1)
    st, j, _ = http_req(srv.disc["token_endpoint"], form={"grant_type": DEVICE_GRANT, "device_code": d["device_code"],
                                                          "client_id": CLIENT_ID})
    check(st == 400 and j["error"] == "expired_token", f"expired device code -> expired_token ({j})")
    srv.stop()

    cb.close()
    print(f"selftest passed: {CHECKS} checks")


if __name__ == "__main__":
    main()

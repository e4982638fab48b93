#!/usr/bin/env python3
"""Fake of the ChatGPT issuer (https://auth.openai.com) as PROTOCOL.md describes it: authorize
(simulating a signed-in user), code exchange with PKCE, API-key token exchange, JSON refresh with
rotation and reuse detection, revoke, OpenAI's own device-code variant, the workload identity
JWT-bearer grant (RFC 7523, assertions verified against a real issuer's keys) and the personal
access token `whoami` lookup."""

import re
import secrets
import threading
import time
from urllib.parse import urlencode, urlsplit

import _jwtverify
from _fakelib import Fake, FakeHandler, b64u, common_args, decode_jwt, make_jwt, s256, serve

DEFAULT_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
SCOPE = "openid profile email offline_access api.connectors.read api.connectors.invoke"
AUTH_CLAIM = "https://api.openai.com/auth"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
WHOAMI = "/api/accounts/v1/user-auth-credential/whoami"

REFRESH_ERRORS = {
    "refresh_token_expired": "Your refresh token has expired. Please try signing in again.",
    "refresh_token_reused": "Your refresh token has already been used to generate a new access "
                            "token. Please try signing in again.",
    "refresh_token_invalidated": "Your refresh token has been invalidated. Please try signing "
                                 "in again.",
}

TOKEN = {"path": "/oauth/token"}
REFRESH = {"path": "/oauth/token", "match": {"grant_type": "refresh_token"}}
CODE = {"path": "/oauth/token", "match": {"grant_type": "authorization_code"}}
EXCHANGE = {"path": "/oauth/token", "match": {"grant_type": TOKEN_EXCHANGE}}
WIF = {"path": "/oauth/token", "match": {"grant_type": JWT_BEARER}}


def refresh_error(code):
    return {**REFRESH, "status": 401, "json": {"error": {
        "message": REFRESH_ERRORS[code], "type": "invalid_request_error", "param": None,
        "code": code}}}


SCENARIOS = {
    "token-500": {**TOKEN, "status": 500},
    "token-malformed": {**TOKEN, "action": "malformed"},
    "token-hang": {**TOKEN, "action": "hang"},
    "code-500": {**CODE, "status": 500},
    "refresh-500": {**REFRESH, "status": 500},
    "refresh-hang": {**REFRESH, "action": "hang"},
    "refresh-malformed": {**REFRESH, "action": "malformed"},
    "refresh-expired": refresh_error("refresh_token_expired"),
    "refresh-reused": refresh_error("refresh_token_reused"),
    "refresh-invalidated": refresh_error("refresh_token_invalidated"),
    "refresh-access-only": {**REFRESH, "action": "refresh_access_only"},
    "exchange-fail": {**EXCHANGE, "status": 401, "json": {"error": {
        "message": "Token exchange is not allowed for this account.",
        "type": "invalid_request_error", "param": None, "code": "token_exchange_forbidden"}}},
    "exchange-hang": {**EXCHANGE, "action": "hang"},
    "revoke-500": {"path": "/oauth/revoke", "status": 500},
    "revoke-hang": {"path": "/oauth/revoke", "action": "hang"},
    "usercode-hang": {"path": "/api/accounts/deviceauth/usercode", "action": "hang"},
    "device-token-hang": {"path": "/api/accounts/deviceauth/token", "action": "hang"},
    "authorize-denied": {"path": "/oauth/authorize", "action": "authorize_denied"},
    "authorize-bad-state": {"path": "/oauth/authorize", "action": "authorize_bad_state"},
    "authorize-no-code": {"path": "/oauth/authorize", "action": "authorize_no_code"},
    "wif-400": {**WIF, "status": 400, "json": {"error": "invalid_grant",
                                                "error_description": "assertion rejected"}},
    "wif-401": {**WIF, "status": 401, "json": {"error": "invalid_client",
                                                "error_description": "unknown client"}},
    "wif-403": {**WIF, "status": 403, "json": {"error": "access_denied",
                                                "error_description": "federation rule disabled"}},
    "wif-429": {**WIF, "status": 429},
    "wif-500": {**WIF, "status": 500},
    "wif-html": {**WIF, "status": 200, "body": "<html><body>Sign in</body></html>",
                 "headers": {"Content-Type": "text/html"}},
    "wif-hang": {**WIF, "action": "hang"},
    "wif-other-account": {**WIF, "action": "wif_other_account"},
    "wif-other-user": {**WIF, "action": "wif_other_user"},
    "wif-long-lifetime": {**WIF, "action": "wif_long_lifetime"},
    "wif-missing-user": {**WIF, "action": "wif_missing_user"},
    "wif-redirect": {**WIF, "action": "wif_redirect"},
    "whoami-500": {"path": WHOAMI, "status": 500},
    "whoami-garbage": {"path": WHOAMI, "status": 200, "body": "<html>not json</html>",
                       "headers": {"Content-Type": "text/html"}},
    "whoami-hang": {"path": WHOAMI, "action": "hang"},
}


class Issuer(Fake):
    def __init__(self, args):
        super().__init__(args)
        self.codes = {}          # code -> {challenge, redirect_uri, client_id, kind, used}
        self.id_tokens = set()   # issued id_tokens (subjects for token exchange)
        self.refresh = {}        # refresh_token -> {family, used}
        self.dead_families = set()
        self.devices = {}        # device_auth_id -> {user_code, polls, result}
        self.counts = {"authorize": 0, "authorization_code": 0, "refresh_token": 0,
                       "token_exchange": 0, "revoke": 0, "usercode": 0, "device_poll": 0,
                       "jwt_bearer": 0, "whoami": 0}
        self.state_lock = threading.Lock()
        self.jwks = _jwtverify.Jwks(args.wif_issuer) if args.wif_issuer else None
        self.rules = dict(parse_rule(spec, args) for spec in args.federation_rule)
        for tok in args.seed_refresh_token:
            self.refresh[tok] = {"family": secrets.token_hex(8), "used": False}

    def count(self, key):
        with self.state_lock:
            self.counts[key] += 1

    def mint(self, family=None, access_only=False):
        """New token set; the refresh token joins `family` (a new one if None)."""
        a, now = self.args, int(time.time())
        iss = a.iss or self.base_url
        auth = {"chatgpt_account_id": a.account_id, "chatgpt_plan_type": a.plan,
                "chatgpt_user_id": a.user_id, "user_id": a.user_id}
        access_claims = {
            "iss": iss, "aud": ["https://api.openai.com/v1"], "client_id": a.client_id,
            "sub": a.user_id, "iat": now, "nbf": now, "jti": secrets.token_hex(16),
            "scp": SCOPE.split(), "session_id": "authsess_" + secrets.token_hex(8),
            AUTH_CLAIM: auth,
            "https://api.openai.com/profile": {"email": a.email, "email_verified": True}}
        if not a.access_no_exp:
            access_claims["exp"] = now + a.access_ttl
        out = {"access_token": make_jwt(access_claims)}
        if access_only:
            return out
        id_token = make_jwt({
            "iss": iss, "aud": [a.client_id], "sub": a.user_id, "iat": now, "auth_time": now,
            "exp": now + a.id_ttl, "jti": secrets.token_hex(16), "email": a.email,
            "email_verified": True,
            AUTH_CLAIM: {**auth, "organizations": [
                {"id": "org-fake", "is_default": True, "role": "owner", "title": "Personal"}]}})
        refresh_token = "rt_" + secrets.token_urlsafe(32)
        with self.state_lock:
            self.id_tokens.add(id_token)
            self.refresh[refresh_token] = {"family": family or secrets.token_hex(8),
                                           "used": False}
        return {"id_token": id_token, **out, "refresh_token": refresh_token}

    def wif_answer(self, rule, ttl=None):
        """The JWT-bearer grant's answer for a federation rule's principal."""
        now, ttl = int(time.time()), self.args.wif_ttl if ttl is None else ttl
        iss = self.args.iss or self.base_url
        auth = {"chatgpt_account_id": rule["account"], "chatgpt_plan_type": rule["plan"],
                "chatgpt_user_id": rule["user"], "user_id": rule["user"]}
        access = make_jwt({
            "iss": iss, "aud": ["https://api.openai.com/v1"], "sub": rule["user"], "iat": now,
            "nbf": now, "exp": now + ttl, "jti": secrets.token_hex(16),
            "scp": ["model.request"], AUTH_CLAIM: auth,
            "https://api.openai.com/profile": {"email": rule["email"]}})
        return {"access_token": access, "issued_token_type": ACCESS_TOKEN_TYPE,
                "token_type": "Bearer", "expires_in": ttl, "scope": "model.request",
                "chatgpt_account_id": rule["account"],
                "chatgpt_account_user_id": f"{rule['user']}__{rule['account']}",
                "user_id": rule["user"], "chatgpt_plan_type": rule["plan"]}

    def token_response(self, tokens):
        return {**tokens, "token_type": "Bearer", "expires_in": self.args.access_ttl,
                "scope": SCOPE}


def parse_rule(spec, args):
    """`--federation-rule ID[,account=A][,user=U][,sub=S][,plan=P][,email=E]` -> (ID, rule): the
    principal an OpenAI admin maps the rule to, and the `sub` an assertion must have (any when
    unset)."""
    rule_id, *opts = spec.split(",")
    rule = {"account": args.account_id, "user": args.user_id, "plan": args.plan,
            "email": args.email, "sub": None}
    for opt in opts:
        k, _, v = opt.partition("=")
        if k not in rule:
            raise SystemExit(f"--federation-rule: unknown option `{k}`")
        rule[k] = v
    return rule_id, rule


def bad_fields(body, required):
    """Error text if the dict `body` lacks a required key or has an unexpected one."""
    if not isinstance(body, dict):
        return "body is not an object"
    missing = [k for k in required if k not in body or body[k] in (None, "")]
    extra = [k for k in body if k not in required]
    if missing:
        return f"missing parameter(s): {', '.join(missing)}"
    if extra:
        return f"unexpected parameter(s): {', '.join(extra)}"
    if any(not isinstance(body[k], str) for k in required):
        return "parameters must be single strings"
    return None


class Handler(FakeHandler):
    def stats(self):
        return {**super().stats(), "grants": dict(self.server.fake.counts)}

    def default_error_body(self, status):
        return {"error": {"message": f"fake issuer error {status}", "type": "server_error",
                          "param": None, "code": None}}

    def oauth_error(self, status, error, description):
        self.send_json(status, {"error": error, "error_description": description})

    def route(self, req):
        routes = {
            ("GET", "/oauth/authorize"): self.authorize,
            ("POST", "/oauth/token"): self.token,
            ("POST", "/oauth/revoke"): self.revoke,
            ("POST", "/api/accounts/deviceauth/usercode"): self.usercode,
            ("POST", "/api/accounts/deviceauth/token"): self.device_token,
            ("GET", "/codex/device"): self.device_page,
            ("GET", WHOAMI): self.whoami,
        }
        fn = routes.get((req.method, req.path))
        if fn is None:
            return self.send_json(404, {"error": {"message": f"not found: {req.method} "
                                                             f"{req.path}", "code": "not_found"}})
        fn(req)

    # ------------------------------------------------------------------ authorize
    def authorize_problem(self, req):
        a = self.server.fake.args
        q = req.query
        seen = [k for k, _ in req.query_pairs]
        dup = sorted({k for k in seen if seen.count(k) > 1})
        if dup:
            return f"repeated parameter(s): {', '.join(dup)}"
        expected = {"response_type": "code", "client_id": a.client_id, "scope": SCOPE,
                    "code_challenge_method": "S256", "id_token_add_organizations": "true",
                    "codex_cli_simplified_flow": "true", "originator": "codex_cli_rs"}
        allowed = set(expected) | {"redirect_uri", "code_challenge", "state"}
        if a.workspace:
            expected["allowed_workspace_id"] = a.workspace
            allowed.add("allowed_workspace_id")
        for k in seen:
            if k not in allowed:
                return f"unexpected parameter `{k}`"
        for k, v in expected.items():
            if q.get(k) != v:
                return f"bad parameter `{k}`: expected {v!r}, got {q.get(k)!r}"
        ru = q.get("redirect_uri") or ""
        m = re.fullmatch(r"http://(127\.0\.0\.1|localhost):(\d+)/auth/callback", ru)
        if not m:
            return f"bad parameter `redirect_uri`: not a loopback /auth/callback URI: {ru!r}"
        if a.redirect_ports and int(m.group(2)) not in a.redirect_ports:
            return f"bad parameter `redirect_uri`: port {m.group(2)} is not registered"
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", q.get("code_challenge") or ""):
            return "bad parameter `code_challenge`: must be 43 chars of base64url (S256)"
        if not q.get("state"):
            return "bad parameter `state`: missing"
        return None

    def authorize(self, req, variant=None):
        fake = self.server.fake
        fake.count("authorize")
        problem = self.authorize_problem(req)
        if problem:
            return self.send_text(400, f"invalid_request: {problem}\n")
        q = req.query
        if variant == "authorize_denied":
            params = {"error": "access_denied",
                      "error_description": "The user denied the request", "state": q["state"]}
        elif variant == "authorize_no_code":
            params = {"state": q["state"]}
        else:
            code = "ac_" + secrets.token_urlsafe(24)
            with fake.state_lock:
                fake.codes[code] = {"challenge": q["code_challenge"],
                                    "redirect_uri": q["redirect_uri"],
                                    "client_id": q["client_id"], "kind": "browser",
                                    "used": False}
            state = q["state"] if variant != "authorize_bad_state" else "not-" + q["state"]
            params = {"code": code, "scope": SCOPE, "state": state}
        self.redirect(f"{q['redirect_uri']}?{urlencode(params)}")

    def custom_action(self, action, entry, req):
        if action.startswith("authorize_"):
            return self.authorize(req, variant=action)
        if action == "refresh_access_only":
            return self.refresh_grant(req, access_only=True)
        if action.startswith("wif_"):
            return self.jwt_bearer_grant(req, variant=action)
        super().custom_action(action, entry, req)

    # ------------------------------------------------------------------ token
    def token(self, req):
        grant = req.field("grant_type") if isinstance(req.parsed, dict) else None
        if grant == "refresh_token":
            return self.refresh_grant(req)
        if req.body_type != "form":
            return self.oauth_error(400, "invalid_request",
                                    "expected an application/x-www-form-urlencoded body")
        if grant == "authorization_code":
            return self.code_grant(req)
        if grant == TOKEN_EXCHANGE:
            return self.exchange_grant(req)
        if grant == JWT_BEARER:
            return self.jwt_bearer_grant(req)
        self.oauth_error(400, "unsupported_grant_type", f"unsupported grant_type {grant!r}")

    def code_grant(self, req):
        fake, a, body = self.server.fake, self.server.fake.args, req.parsed
        fake.count("authorization_code")
        bad = bad_fields(body, ["grant_type", "code", "redirect_uri", "client_id",
                                "code_verifier"])
        if bad:
            return self.oauth_error(400, "invalid_request", bad)
        if body["client_id"] != a.client_id:
            return self.oauth_error(401, "invalid_client", "unknown client_id")
        with fake.state_lock:
            rec = fake.codes.get(body["code"])
            if rec is None or rec["used"]:
                return self.oauth_error(400, "invalid_grant",
                                        "authorization code is invalid or was already used")
            rec["used"] = True
        if rec["kind"] == "device":
            ru = urlsplit(body["redirect_uri"])
            port = urlsplit(fake.base_url).port
            hosts = {req.headers.get("host"), f"127.0.0.1:{port}", f"localhost:{port}"}
            ok = (ru.scheme == "http" and ru.netloc in hosts
                  and ru.path == "/deviceauth/callback" and not ru.query)
        else:
            ok = body["redirect_uri"] == rec["redirect_uri"]
        if not ok:
            return self.oauth_error(400, "invalid_grant", "redirect_uri does not match")
        if rec["client_id"] != body["client_id"]:
            return self.oauth_error(400, "invalid_grant", "client_id does not match")
        if s256(body["code_verifier"]) != rec["challenge"]:
            return self.oauth_error(400, "invalid_grant",
                                    "PKCE verification failed: code_verifier does not match")
        self.send_json(200, fake.token_response(fake.mint()))

    def exchange_grant(self, req):
        fake, a, body = self.server.fake, self.server.fake.args, req.parsed
        fake.count("token_exchange")
        bad = bad_fields(body, ["grant_type", "client_id", "requested_token", "subject_token",
                                "subject_token_type"])
        if bad:
            return self.oauth_error(400, "invalid_request", bad)
        if body["client_id"] != a.client_id:
            return self.oauth_error(401, "invalid_client", "unknown client_id")
        if body["requested_token"] != "openai-api-key":
            return self.oauth_error(400, "invalid_request", "requested_token must be "
                                                            "openai-api-key")
        if body["subject_token_type"] != ID_TOKEN_TYPE:
            return self.oauth_error(400, "invalid_request", f"subject_token_type must be "
                                                            f"{ID_TOKEN_TYPE}")
        if body["subject_token"] not in fake.id_tokens:
            return self.oauth_error(400, "invalid_grant", "subject_token is not an id_token "
                                                          "issued here")
        self.send_json(200, {"access_token": "sk-exchanged-" + secrets.token_hex(16)})

    def jwt_bearer_grant(self, req, variant=None):
        """RFC 7523 section 2.1 with OpenAI's `federation_rule_id`: the assertion must verify
        against the trusted issuer's keys (`--wif-issuer`), be meant for `--wif-audience`, be
        unexpired, and match the rule; the rule names the principal the token is for."""
        fake, a, body = self.server.fake, self.server.fake.args, req.parsed
        fake.count("jwt_bearer")
        if req.body_type != "form":
            return self.oauth_error(400, "invalid_request",
                                    "expected an application/x-www-form-urlencoded body")
        optional = ["workload_identity_context"] if "workload_identity_context" in body else []
        bad = bad_fields(body, ["grant_type", "assertion", "federation_rule_id"] + optional)
        if bad:
            return self.oauth_error(400, "invalid_request", bad)
        rule = fake.rules.get(body["federation_rule_id"])
        if rule is None:
            return self.oauth_error(400, "invalid_grant", "unknown federation_rule_id")
        if fake.jwks is None:
            return self.oauth_error(400, "invalid_grant", "no trusted issuer is configured")
        try:
            claims = _jwtverify.verify(body["assertion"], fake.jwks,
                                       a.wif_audience or fake.base_url)
        except _jwtverify.InvalidToken as e:
            return self.oauth_error(400, "invalid_grant", f"assertion rejected: {e}")
        if rule["sub"] is not None and claims["sub"] != rule["sub"]:
            return self.oauth_error(403, "access_denied",
                                    "the assertion's subject does not match the federation rule")
        if variant == "wif_other_account":
            rule = {**rule, "account": rule["account"] + "-other"}
        elif variant == "wif_other_user":
            rule = {**rule, "user": rule["user"] + "-other"}
        elif variant == "wif_redirect":
            return self.send_raw(307, b"", "text/plain",
                                 {"Location": fake.base_url + "/leak"})
        answer = fake.wif_answer(rule, ttl=7200 if variant == "wif_long_lifetime" else None)
        if variant == "wif_missing_user":
            answer.pop("user_id")
        self.send_json(200, answer)

    def whoami(self, req):
        """The personal access token lookup: who an `at-` token belongs to."""
        fake, a = self.server.fake, self.server.fake.args
        fake.count("whoami")
        auth = req.headers.get("authorization", "")
        token = auth[7:] if auth[:7].lower() == "bearer " else ""
        if not token or token not in a.pat:
            return self.send_json(401, {"error": {"message": "Invalid or expired access token.",
                                                  "type": "invalid_request_error",
                                                  "param": None, "code": "invalid_token"}})
        self.send_json(200, {"email": None if a.pat_no_email else a.email,
                             "chatgpt_user_id": a.user_id, "chatgpt_account_id": a.account_id,
                             "chatgpt_plan_type": a.plan, "chatgpt_account_is_fedramp": a.fedramp})

    def refresh_grant(self, req, access_only=False):
        fake, a, body = self.server.fake, self.server.fake.args, req.parsed
        fake.count("refresh_token")
        if req.body_type != "json":
            return self.send_json(400, {"error": {
                "message": "refresh requests must have a JSON body", "type":
                "invalid_request_error", "param": None, "code": "invalid_request"}})
        bad = bad_fields(body, ["client_id", "grant_type", "refresh_reason", "refresh_token"])
        if not bad and body["refresh_reason"] not in ("proactive_expiry",
                                                      "unauthorized_recovery"):
            bad = f"bad refresh_reason {body['refresh_reason']!r}"
        if not bad and body["client_id"] != a.client_id:
            bad = "unknown client_id"
        if bad:
            return self.send_json(400, {"error": {"message": bad, "type":
                                                  "invalid_request_error", "param": None,
                                                  "code": "invalid_request"}})
        with fake.state_lock:
            rec = fake.refresh.get(body["refresh_token"])
            if rec is None or rec["family"] in fake.dead_families:
                code = "refresh_token_invalidated"
            elif rec["used"]:
                fake.dead_families.add(rec["family"])   # reuse revokes the whole family
                code = "refresh_token_reused"
            else:
                rec["used"] = True
                code = None
        if code:
            return self.send_json(401, {"error": {"message": REFRESH_ERRORS[code], "type":
                                                  "invalid_request_error", "param": None,
                                                  "code": code}})
        self.send_json(200, fake.mint(family=rec["family"], access_only=access_only))

    # ------------------------------------------------------------------ revoke
    def revoke(self, req):
        fake, body = self.server.fake, req.parsed
        fake.count("revoke")
        if req.body_type != "json":
            return self.send_json(400, {"error": {"message": "expected a JSON body",
                                                  "code": "invalid_request"}})
        bad = bad_fields(body, ["token", "token_type_hint", "client_id"])
        if not bad and body["token_type_hint"] not in ("refresh_token", "access_token"):
            bad = "bad token_type_hint"
        if not bad and body["client_id"] != fake.args.client_id:
            bad = "unknown client_id"
        if bad:
            return self.send_json(400, {"error": {"message": bad, "code": "invalid_request"}})
        with fake.state_lock:
            rec = fake.refresh.get(body["token"])
            if rec:
                fake.dead_families.add(rec["family"])
        self.send_json(200, {})

    # ------------------------------------------------------------------ device code
    def usercode(self, req):
        fake, a = self.server.fake, self.server.fake.args
        fake.count("usercode")
        if a.device_disabled:
            return self.send_json(404, {"error": {"message": "Device code login is not "
                                                  "enabled.", "code": "not_found"}})
        bad = bad_fields(req.parsed, ["client_id"]) if req.body_type == "json" else \
            "expected a JSON body"
        if not bad and req.parsed["client_id"] != a.client_id:
            bad = "unknown client_id"
        if bad:
            return self.send_json(400, {"error": {"message": bad, "code": "invalid_request"}})
        device_auth_id = "deviceauth_" + secrets.token_hex(12)
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        code = "".join(secrets.choice(alphabet) for _ in range(9))
        user_code = f"{code[:4]}-{code[4:]}"
        with fake.state_lock:
            fake.devices[device_auth_id] = {"user_code": user_code, "polls": 0,
                                            "result": None}
        interval = a.interval if a.interval_number else str(a.interval)
        key = "usercode" if a.usercode_alias else "user_code"
        self.send_json(200, {"device_auth_id": device_auth_id, key: user_code,
                             "interval": interval})

    def device_token(self, req):
        fake, a = self.server.fake, self.server.fake.args
        fake.count("device_poll")
        bad = bad_fields(req.parsed, ["device_auth_id", "user_code"]) \
            if req.body_type == "json" else "expected a JSON body"
        if bad:
            return self.send_json(400, {"error": {"message": bad, "code": "invalid_request"}})
        with fake.state_lock:
            dev = fake.devices.get(req.parsed["device_auth_id"])
            if dev is None or dev["user_code"] != req.parsed["user_code"]:
                return self.send_json(400, {"error": {"message": "unknown device_auth_id or "
                                                      "user_code", "code": "invalid_request"}})
            seq = a.device_sequence
            status = seq[min(dev["polls"], len(seq) - 1)]
            dev["polls"] += 1
            if status == 200 and dev["result"] is None:
                verifier = b64u(secrets.token_bytes(64))
                code = "ac_" + secrets.token_urlsafe(24)
                fake.codes[code] = {"challenge": s256(verifier), "redirect_uri": None,
                                    "client_id": a.client_id, "kind": "device",
                                    "used": False}
                dev["result"] = {"authorization_code": code, "code_challenge": s256(verifier),
                                 "code_verifier": verifier}
        if status == 200:
            return self.send_json(200, dev["result"])
        texts = {403: ("Device authorization is pending.", "deviceauth_authorization_pending"),
                 404: ("Device authorization is not yet available.",
                       "deviceauth_authorization_unknown")}
        msg, code = texts.get(status, ("Device authorization failed.", "deviceauth_failed"))
        self.send_json(status, {"error": {"message": msg, "code": code}})

    def device_page(self, req):
        html = ("<!doctype html><html><head><title>Codex device sign-in</title></head><body>"
                "<h1>Enter the code shown in your terminal</h1><form method=post>"
                "<input name=user_code><button>Continue</button></form></body></html>")
        self.send_raw(200, html.encode(), "text/html; charset=utf-8")


def main():
    p = common_args(__doc__)
    p.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    p.add_argument("--iss", help="`iss` claim (default: this server's base URL)")
    p.add_argument("--workspace", help="require allowed_workspace_id=<this> on /oauth/authorize")
    p.add_argument("--redirect-ports", type=lambda s: [int(x) for x in s.split(",")],
                   help="comma list of allowed loopback ports (default: any)")
    p.add_argument("--access-ttl", type=int, default=3600, help="access token lifetime (s); "
                   "may be 0 or negative for already-expired tokens")
    p.add_argument("--access-no-exp", action="store_true", help="mint access tokens with no exp")
    p.add_argument("--id-ttl", type=int, default=3600, help="id_token lifetime (s)")
    p.add_argument("--email", default="user@example.com")
    p.add_argument("--plan", default="pro")
    p.add_argument("--account-id", default="acct_fake_1")
    p.add_argument("--user-id", default="user-fake-1")
    p.add_argument("--seed-refresh-token", action="append", default=[],
                   help="pre-register a valid refresh token (repeatable)")
    p.add_argument("--device-disabled", action="store_true", help="404 on deviceauth/usercode")
    p.add_argument("--device-sequence", default="403,404,200",
                   type=lambda s: [int(x) for x in s.split(",")],
                   help="statuses answered to successive polls; the last repeats")
    p.add_argument("--interval", type=int, default=5)
    p.add_argument("--interval-number", action="store_true",
                   help="send interval as a JSON number (default: a string, as in the wild)")
    p.add_argument("--usercode-alias", action="store_true",
                   help="send the code as `usercode` instead of `user_code`")
    p.add_argument("--wif-issuer", help="OpenID Connect issuer whose signed JWTs the jwt-bearer "
                   "grant accepts as assertions (keys from its discovery document)")
    p.add_argument("--wif-audience", help="the `aud` assertions must carry (default: this "
                   "server's base URL)")
    p.add_argument("--federation-rule", action="append", default=[],
                   help="ID[,account=A][,user=U][,sub=S][,plan=P][,email=E] (repeatable): a "
                        "rule id the jwt-bearer grant accepts and the principal it maps to")
    p.add_argument("--wif-ttl", type=int, default=3600, help="expires_in of jwt-bearer tokens")
    p.add_argument("--pat", action="append", default=[],
                   help="a personal access token (at-...) whoami knows (repeatable)")
    p.add_argument("--pat-no-email", action="store_true", help="whoami answers email: null")
    p.add_argument("--fedramp", action="store_true",
                   help="whoami answers chatgpt_account_is_fedramp: true")
    serve(Handler, Issuer(p.parse_args()), SCENARIOS)


if __name__ == "__main__":
    main()

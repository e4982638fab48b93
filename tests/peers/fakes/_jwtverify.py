"""Verifying an RS256 JWT against an OpenID Connect issuer's published keys, as a relying party
does: discovery -> `jwks_uri` -> the key named by `kid`, then RSASSA-PKCS1-v1_5 with SHA-256
(RFC 7518 3.3, RFC 8017 8.2.2) and the registered claims (`iss`, `aud`, `exp`, `nbf`, `iat`).
Stdlib only: the RSA check is one modular exponentiation and a byte comparison with the
expected encoding. Only RS256 is accepted (the test issuer signs with it); `none`, HS256 and
every other `alg` are refused, so a token cannot pick a weaker check."""

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.request

# DER prefix of DigestInfo for SHA-256 (RFC 8017 9.2, note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
LEEWAY = 60  # seconds of clock skew allowed on exp / nbf / iat


class InvalidToken(Exception):
    """Why an assertion is refused (safe to show: never contains the token)."""


def b64u_decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (ValueError, TypeError) as e:
        raise InvalidToken(f"not base64url: {e}") from None


def b64u_int(part: str) -> int:
    return int.from_bytes(b64u_decode(part), "big")


def rsa_pkcs1_sha256_verify(n: int, e: int, message: bytes, signature: bytes) -> bool:
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(k, "big")
    t = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    if k < len(t) + 11:
        return False
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return hmac.compare_digest(em, expected)


class Jwks:
    """The keys of one issuer, fetched on first use and again when a token names an unknown
    `kid` (the issuer may have rotated)."""

    def __init__(self, issuer: str):
        self.issuer = issuer.rstrip("/")
        self.keys = {}
        self.lock = threading.Lock()

    def _fetch(self):
        def get(url):
            # Loopback peers only: no proxy, bounded.
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(url, timeout=10) as r:
                return json.loads(r.read(1 << 20))
        doc = get(self.issuer + "/.well-known/openid-configuration")
        if doc.get("issuer") != self.issuer:
            raise InvalidToken("the trusted issuer's discovery document names another issuer")
        keys = {}
        for jwk in get(doc["jwks_uri"]).get("keys", []):
            if jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig":
                keys[jwk.get("kid")] = (b64u_int(jwk["n"]), b64u_int(jwk["e"]))
        self.keys = keys

    def key(self, kid):
        with self.lock:
            if kid not in self.keys:
                try:
                    self._fetch()
                except InvalidToken:
                    raise
                except Exception as e:  # the issuer is down or answered garbage
                    raise InvalidToken(f"cannot fetch the trusted issuer's keys: {e}") from None
            if kid not in self.keys:
                raise InvalidToken(f"no key with kid {kid!r} at the trusted issuer")
            return self.keys[kid]


def verify(token: str, jwks: Jwks, audience: str, now=None) -> dict:
    """The claims of `token` once its signature, issuer, audience and times check out."""
    if not isinstance(token, str):
        raise InvalidToken("the assertion is not a string")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("the assertion is not a JWS compact serialization (3 parts)")
    try:
        header = json.loads(b64u_decode(parts[0]))
        claims = json.loads(b64u_decode(parts[1]))
    except ValueError:
        raise InvalidToken("the assertion's header or payload is not JSON") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidToken("the assertion's header or payload is not a JSON object")
    if header.get("alg") != "RS256":
        raise InvalidToken(f"unsupported alg {header.get('alg')!r} (only RS256)")
    n, e = jwks.key(header.get("kid"))
    signed = (parts[0] + "." + parts[1]).encode("ascii", errors="replace")
    if not rsa_pkcs1_sha256_verify(n, e, signed, b64u_decode(parts[2])):
        raise InvalidToken("the assertion's signature does not verify")
    now = time.time() if now is None else now
    if claims.get("iss") != jwks.issuer:
        raise InvalidToken(f"iss {claims.get('iss')!r} is not the trusted issuer")
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if audience not in auds:
        raise InvalidToken(f"aud {aud!r} does not include {audience!r}")
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or exp + LEEWAY < now:
        raise InvalidToken("the assertion has expired (or has no exp)")
    for name in ("nbf", "iat"):
        t = claims.get(name)
        if t is not None and (not isinstance(t, (int, float)) or t - LEEWAY > now):
            raise InvalidToken(f"{name} is in the future")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidToken("the assertion has no sub")
    return claims

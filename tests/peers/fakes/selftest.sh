#!/usr/bin/env bash
# Self-test of the fakes: starts each server, drives its main paths with curl, checks answers and
# the request log with python. Exits non-zero if anything fails. Usage: bash selftest.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT
FAIL=0
check() { local d=$1; shift; if "$@"; then echo "ok   $d"; else echo "FAIL $d"; FAIL=1; fi; }
# req ARGS...: curl, body -> $TMP/body, prints the status code
req() { curl --noproxy '*' -sS -o "$TMP/body" -w '%{http_code}' "$@"; }
# j EXPR [FILE]: evaluate a python expression over d = the JSON in FILE (default: last body)
j() { python3 -c 'import json,sys; d=json.load(open(sys.argv[2])); print(eval(sys.argv[1]))' \
      "$1" "${2:-$TMP/body}"; }
claims() { python3 -c 'import base64,json,sys; p=sys.argv[1].split(".")[1]
print(json.dumps(json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4)))))' "$1"; }
eq() { [ "$1" = "$2" ] || { echo "     expected [$2], got [$1]" >&2; return 1; }; }
has() { grep -q -- "$2" <<<"$1" || { echo "     [$2] not in: ${1:0:300}" >&2; return 1; }; }

start() { # start NAME FILE ARGS... -> sets $U (base URL)
  local name=$1 file=$2; shift 2
  python3 "$HERE/$file" --log "$TMP/$name.log" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q '^READY ' "$TMP/$name.out" && break; sleep 0.05; done
  U=$(awk '/^READY /{print $2}' "$TMP/$name.out")
  [ -n "$U" ] || { echo "FAIL $name did not start"; cat "$TMP/$name.err"; exit 1; }
  check "$name prints exactly one READY line" eq "$(wc -l <"$TMP/$name.out")" 1
}

CID=app_EMoamEEZ73f0CkXaXp7hrann
SCOPE="openid profile email offline_access api.connectors.read api.connectors.invoke"
pkce() { python3 -c 'import base64,hashlib,secrets
v=base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode()
print(v, base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode())'; }
# authorize_url BASE CHALLENGE [key=value overrides...; key= (empty) drops the key]
authorize_url() { python3 - "$@" <<'EOF'
import sys, urllib.parse
base, ch, *over = sys.argv[1:]
q = {"response_type": "code", "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
     "redirect_uri": "http://127.0.0.1:1455/auth/callback",
     "scope": "openid profile email offline_access api.connectors.read api.connectors.invoke",
     "code_challenge": ch, "code_challenge_method": "S256", "id_token_add_organizations": "true",
     "codex_cli_simplified_flow": "true", "state": "st4te", "originator": "codex_cli_rs"}
for o in over:
    k, _, v = o.partition("=")
    if v: q[k] = v
    else: q.pop(k, None)
print(base + "/oauth/authorize?" + urllib.parse.urlencode(q, quote_via=urllib.parse.quote))
EOF
}
# authorize BASE CHALLENGE -> prints the code from the 302 Location
authorize() {
  local loc
  loc=$(curl --noproxy '*' -sS -o /dev/null -w '%{redirect_url}' "$(authorize_url "$1" "$2")")
  python3 -c 'import sys,urllib.parse as u; q=dict(u.parse_qsl(u.urlsplit(sys.argv[1]).query))
assert q["state"]=="st4te", q; print(q["code"])' "$loc"
}
exchange() { # exchange BASE CODE VERIFIER [REDIRECT]
  req "$1/oauth/token" --data-urlencode grant_type=authorization_code \
    --data-urlencode "code=$2" --data-urlencode "redirect_uri=${4:-http://127.0.0.1:1455/auth/callback}" \
    --data-urlencode "client_id=$CID" --data-urlencode "code_verifier=$3" "${@:5}"
}
refresh() { # refresh BASE TOKEN [REASON]
  req "$1/oauth/token" -H 'Content-Type: application/json' -d "{\"client_id\":\"$CID\",\
\"grant_type\":\"refresh_token\",\"refresh_reason\":\"${3:-proactive_expiry}\",\"refresh_token\":\"$2\"}"
}

echo "== fake_chatgpt_issuer.py: browser flow, exchange, refresh, revoke, device"
start iss fake_chatgpt_issuer.py --account-id acct_T --access-ttl 120
ISS=$U
read -r V CH < <(pkce)

code=$(req "$(authorize_url "$ISS" "$CH")")
check "authorize valid -> 302" eq "$code" 302
for bad in "scope=openid profile email" "code_challenge=short" "code_challenge_method=plain" \
           "redirect_uri=http://evil.example/auth/callback" "originator=" "state=" \
           "allowed_workspace_id=ws_1" "id_token_add_organizations=false" "client_id=app_other" \
           "prompt=login" "response_type=token" "codex_cli_simplified_flow="; do
  code=$(req "$(authorize_url "$ISS" "$CH" "$bad")")
  check "authorize bad ${bad%%=*} -> 400 naming it" \
    bash -c '[ "$1" = 400 ] && grep -q "\`$2\`" "$3"' _ "$code" "${bad%%=*}" "$TMP/body"
done
check "authorize localhost redirect ok" eq "$(req "$(authorize_url "$ISS" "$CH" \
  redirect_uri=http://localhost:1457/auth/callback)")" 302

C1=$(authorize "$ISS" "$CH")
check "exchange with wrong verifier -> 400 invalid_grant" eq "$(exchange "$ISS" "$C1" "wrong${V:5}")" 400
check "  ... error is invalid_grant" eq "$(j 'd["error"]')" invalid_grant
C2=$(authorize "$ISS" "$CH")
check "exchange with wrong redirect -> 400" eq "$(exchange "$ISS" "$C2" "$V" http://127.0.0.1:1457/auth/callback)" 400
C3=$(authorize "$ISS" "$CH")
check "exchange extra param -> 400" eq "$(exchange "$ISS" "$C3" "$V" http://127.0.0.1:1455/auth/callback -d scope=x)" 400
C4=$(authorize "$ISS" "$CH")
check "exchange PKCE ok -> 200" eq "$(exchange "$ISS" "$C4" "$V")" 200
cp "$TMP/body" "$TMP/tokens1"
IDT=$(j 'd["id_token"]') AT=$(j 'd["access_token"]') RT1=$(j 'd["refresh_token"]')
check "id_token claims" eq "$(j 'd["email"], d["https://api.openai.com/auth"]["chatgpt_account_id"], d["https://api.openai.com/auth"]["chatgpt_plan_type"], d["aud"]' <(claims "$IDT"))" \
  "('user@example.com', 'acct_T', 'pro', ['$CID'])"
check "access_token exp = now+120, account id" eq "$(j 'abs(d["exp"]-__import__("time").time()-120)<5, d["https://api.openai.com/auth"]["chatgpt_account_id"]' <(claims "$AT"))" "(True, 'acct_T')"
check "code reuse -> 400" eq "$(exchange "$ISS" "$C4" "$V")" 400

tx() { req "$ISS/oauth/token" --data-urlencode "grant_type=urn:ietf:params:oauth:grant-type:token-exchange" \
  --data-urlencode "client_id=$CID" --data-urlencode requested_token=openai-api-key \
  --data-urlencode "subject_token=$1" --data-urlencode "subject_token_type=urn:ietf:params:oauth:token-type:id_token"; }
check "token exchange -> 200" eq "$(tx "$IDT")" 200
check "  ... sk-exchanged-" has "$(j 'd["access_token"]')" '^sk-exchanged-'
check "token exchange with foreign subject -> 400" eq "$(tx "not.an.idtoken")" 400

check "form-encoded refresh -> 400" eq "$(req "$ISS/oauth/token" -d grant_type=refresh_token \
  -d "refresh_token=$RT1" -d "client_id=$CID")" 400
check "refresh with bad reason -> 400" eq "$(refresh "$ISS" "$RT1" because)" 400
check "JSON refresh -> 200" eq "$(refresh "$ISS" "$RT1")" 200
RT2=$(j 'd["refresh_token"]')
check "  ... rotated tokens" eq "$(j '[k for k in ("id_token","access_token","refresh_token") if k in d]'), $([ "$RT2" != "$RT1" ] && echo rotated)" \
  "['id_token', 'access_token', 'refresh_token'], rotated"
check "reuse of RT1 -> 401" eq "$(refresh "$ISS" "$RT1" unauthorized_recovery)" 401
check "  ... code refresh_token_reused" eq "$(j 'd["error"]["code"]')" refresh_token_reused
check "RT2 after reuse (family revoked) -> 401 refresh_token_invalidated" \
  eq "$(refresh "$ISS" "$RT2"; echo " $(j 'd["error"]["code"]')")" "401 refresh_token_invalidated"
check "revoke -> 200 {}" eq "$(req "$ISS/oauth/revoke" -H 'Content-Type: application/json' \
  -d "{\"token\":\"$RT2\",\"token_type_hint\":\"refresh_token\",\"client_id\":\"$CID\"}"; cat "$TMP/body")" "200{}"

check "usercode -> 200" eq "$(req "$ISS/api/accounts/deviceauth/usercode" -H 'Content-Type: application/json' -d "{\"client_id\":\"$CID\"}")" 200
check "  ... interval is the string \"5\"" eq "$(j 'repr(d["interval"])')" "'5'"
DID=$(j 'd["device_auth_id"]') UC=$(j 'd["user_code"]')
poll() { req "$ISS/api/accounts/deviceauth/token" -H 'Content-Type: application/json' \
  -d "{\"device_auth_id\":\"$DID\",\"user_code\":\"$UC\"}"; }
check "device polls 403,404,200" eq "$(poll) $(poll) $(poll)" "403 404 200"
DCODE=$(j 'd["authorization_code"]') DV=$(j 'd["code_verifier"]')
check "device code exchange with /auth/callback redirect -> 400" eq "$(exchange "$ISS" "$DCODE" "$DV")" 400
poll >/dev/null; DCODE=$(j 'd["authorization_code"]')
check "  (same result on later polls)" eq "$(j 'd["code_verifier"]')" "$DV"
DC2=$(authorize "$ISS" "$CH")  # the failed attempt burned DCODE: run a second device login
req "$ISS/api/accounts/deviceauth/usercode" -H 'Content-Type: application/json' -d "{\"client_id\":\"$CID\"}" >/dev/null
DID=$(j 'd["device_auth_id"]') UC=$(j 'd["user_code"]'); poll >/dev/null; poll >/dev/null; poll >/dev/null
DCODE=$(j 'd["authorization_code"]') DV=$(j 'd["code_verifier"]')
check "device code exchange with <issuer>/deviceauth/callback + server verifier -> 200" \
  eq "$(exchange "$ISS" "$DCODE" "$DV" "$ISS/deviceauth/callback")" 200
check "GET /codex/device -> 200 html" eq "$(req "$ISS/codex/device")" 200
check "log counts 5 refresh grants (incl. the form one)" eq "$(python3 -c 'import json,sys
print(sum(1 for l in open(sys.argv[1]) if (json.loads(l)["parsed"] or {}).get("grant_type")=="refresh_token"))' "$TMP/iss.log")" 5
check "log line shape" eq "$(python3 -c 'import json,sys
l=[json.loads(x) for x in open(sys.argv[1])]; r=[x for x in l if x["path"]=="/oauth/revoke"][0]
print(sorted(r), r["body_type"], r["parsed"]["token_type_hint"], r["headers"]["content-type"], type(r["t"]).__name__)' "$TMP/iss.log")" \
  "['body', 'body_type', 'headers', 'method', 'parsed', 'path', 'query', 't'] json refresh_token application/json int"
check "/_fake/stats grants" eq "$(req "$ISS/_fake/stats" >/dev/null; j 'd["grants"]["refresh_token"], d["grants"]["device_poll"]')" "(5, 7)"

echo "== issuer: --device-disabled, --workspace, --interval-number, --seed-refresh-token"
start iss2 fake_chatgpt_issuer.py --device-disabled --workspace ws_1 --seed-refresh-token rt_seed
check "usercode disabled -> 404" eq "$(req "$U/api/accounts/deviceauth/usercode" -H 'Content-Type: application/json' -d "{\"client_id\":\"$CID\"}")" 404
check "workspace required: missing -> 400" eq "$(req "$(authorize_url "$U" "$CH")")" 400
check "workspace given -> 302" eq "$(req "$(authorize_url "$U" "$CH" allowed_workspace_id=ws_1)")" 302
check "workspace wrong -> 400" eq "$(req "$(authorize_url "$U" "$CH" allowed_workspace_id=ws_2)")" 400
check "seeded refresh token -> 200" eq "$(refresh "$U" rt_seed)" 200
start iss3 fake_chatgpt_issuer.py --interval-number --interval 1 --device-sequence 200 --usercode-alias
req "$U/api/accounts/deviceauth/usercode" -H 'Content-Type: application/json' -d "{\"client_id\":\"$CID\"}" >/dev/null
check "interval number 1, usercode alias" eq "$(j 'type(d["interval"]).__name__, d["interval"], "usercode" in d')" "('int', 1, True)"

echo "== issuer: scenarios and --script"
cat >"$TMP/iss.script" <<EOF
[{"path": "/oauth/token", "match": {"grant_type": "refresh_token"}, "status": 503},
 {"path": "/oauth/token", "match": {"grant_type": "refresh_token"}, "status": 401,
  "json": {"error": {"code": "refresh_token_expired", "message": "expired"}}},
 {"path": "/oauth/revoke", "action": "malformed"}]
EOF
start iss4 fake_chatgpt_issuer.py --scenario token-500:1 --script "$TMP/iss.script" --seed-refresh-token rt_s
check "scenario token-500:1 then script 503, 401 expired, then real" \
  eq "$(refresh "$U" rt_s) $(refresh "$U" rt_s) $(refresh "$U" rt_s; echo -n " $(j 'd["error"]["code"]')") $(refresh "$U" rt_s)" \
  "500 503 401 refresh_token_expired 200"
check "script malformed JSON" bash -c '[ "$(curl --noproxy "*" -sS -X POST "$1/oauth/revoke")" = "{\"access_token\": \"abc\", \"id_token\": " ]' _ "$U"
start iss5 fake_chatgpt_issuer.py --scenario token-hang,authorize-denied:1 --hang-seconds 30
T0=$(date +%s%N)
curl --noproxy '*' -sS -m 1 -o /dev/null -X POST "$U/oauth/token" -d grant_type=x 2>/dev/null
check "token-hang: curl times out (28)" eq "$?" 28
check "hang request logged" eq "$(wc -l <"$TMP/iss5.log")" 1
loc=$(curl --noproxy '*' -sS -o /dev/null -w '%{redirect_url}' "$(authorize_url "$U" "$CH")")
check "authorize-denied redirects with error=access_denied" has "$loc" 'error=access_denied.*state=st4te'
curl --noproxy '*' -sS -o /dev/null -X POST "$U/_fake/script" -d '[{"path":"/codex/device","status":418}]'
check "POST /_fake/script appends at runtime" eq "$(req "$U/codex/device") $(req "$U/codex/device")" "418 200"

echo "== fake_responses_api.py"
RESP='{"model":"gpt-5","input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]}],"stream":true}'
sse() { python3 - "$TMP/body" <<'EOF'
import json, sys
evs = []
for block in open(sys.argv[1]).read().split("\n\n"):
    lines = dict(l.split(": ", 1) for l in block.splitlines() if ": " in l)
    if "event" in lines:
        d = json.loads(lines["data"]); assert d["type"] == lines["event"]; evs.append(d)
seqs = [e["sequence_number"] for e in evs]
assert seqs == list(range(len(evs))), seqs
text = "".join(e["delta"] for e in evs if e["type"] == "response.output_text.delta")
print(evs[0]["type"], evs[-1]["type"], sum(e["type"] == "response.output_text.delta" for e in evs), repr(text))
EOF
}
start api fake_responses_api.py --accept-bearer sk-good --text "Hello there from fake" --delta-delay-ms 10
post() { local url=$1; shift; req "$url" -H 'Content-Type: application/json' -d "$RESP" "$@"; }
check "stream 200 under /v1" eq "$(post "$U/v1/responses" -H 'Authorization: Bearer sk-good')" 200
check "  ... SSE events" eq "$(sse)" "response.created response.completed 4 'Hello there from fake'"
check "stream under /backend-api/codex" eq "$(post "$U/backend-api/codex/responses" -H 'Authorization: Bearer sk-good')" 200
check "content-type text/event-stream" has "$(curl --noproxy '*' -sS -D - -o /dev/null "$U/v1/responses" -H 'Authorization: Bearer sk-good' -H 'Content-Type: application/json' -d "$RESP")" 'Content-Type: text/event-stream'
check "wrong bearer -> 401 invalid_api_key" eq "$(post "$U/v1/responses" -H 'Authorization: Bearer sk-nope-123456'; echo " $(j 'd["error"]["code"]')")" "401 invalid_api_key"
check "missing bearer -> 401" eq "$(post "$U/v1/responses")" 401
check "stream:false -> 400" eq "$(req "$U/v1/responses" -H 'Authorization: Bearer sk-good' -d '{"model":"m","input":"x"}')" 400

start az fake_responses_api.py --azure --accept-api-key az-key
check "azure api-key + api-version -> 200" eq "$(post "$U/openai/responses?api-version=2025-04-01-preview" -H 'api-key: az-key')" 200
check "azure Bearer only -> 401 azure body" eq "$(post "$U/openai/responses?api-version=2025-04-01-preview" -H 'Authorization: Bearer az-key'; echo " $(j 'd["error"]["code"]')")" "401 401"
check "azure wrong key -> 401" eq "$(post "$U/openai/responses?api-version=x" -H 'api-key: nope')" 401
check "azure no api-version -> 404" eq "$(post "$U/openai/responses" -H 'api-key: az-key')" 404
check "azure log has query dict" eq "$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["query"])' "$TMP/az.log")" "{'api-version': '2025-04-01-preview'}"

cat >"$TMP/api.script" <<'EOF'
[{"path": "/responses", "status": 429, "headers": {"Retry-After": "2"}},
 {"path": "/responses", "status": 502},
 {"path": "/responses", "action": "failed"},
 {"path": "/responses", "action": "error"},
 {"path": "/responses", "action": "disconnect"},
 {"path": "/responses", "action": "stall"},
 {"path": "/responses", "action": "stream", "text": "second try"}]
EOF
start api2 fake_responses_api.py --script "$TMP/api.script" --hang-seconds 30
H='Authorization: Bearer anything'
check "429" eq "$(post "$U/v1/responses" -H "$H" -D "$TMP/hdr")" 429
check "  ... Retry-After: 2" has "$(cat "$TMP/hdr")" 'Retry-After: 2'
check "  ... rate_limit_exceeded" eq "$(j 'd["error"]["code"]')" rate_limit_exceeded
check "502" eq "$(post "$U/v1/responses" -H "$H")" 502
post "$U/v1/responses" -H "$H" >/dev/null
check "response.failed event" eq "$(sse)" "response.created response.failed 0 ''"
check "  ... error code" eq "$(python3 -c 'import json,sys
d=json.loads(open(sys.argv[1]).read().split("data: ")[-1]); print(d["response"]["status"], d["response"]["error"]["code"])' "$TMP/body")" "failed server_error"
post "$U/v1/responses" -H "$H" >/dev/null
check "error event" eq "$(sse)" "response.created error 0 ''"
post "$U/v1/responses" -H "$H" >/dev/null 2>&1
check "disconnect: curl sees a broken transfer (18)" eq "$?" 18
check "  ... got created and one delta" eq "$(sse)" "response.created response.output_text.delta 1 'Hello'"
post "$U/v1/responses" -H "$H" -m 1 >/dev/null 2>&1
check "stall: curl times out (28)" eq "$?" 28
check "  ... got created before stalling" eq "$(sse)" "response.created response.in_progress 0 ''"
post "$U/v1/responses" -H "$H" >/dev/null
check "then success" eq "$(sse)" "response.created response.completed 2 'second try'"

start api3 fake_responses_api.py --accept-jwt --scenario 503:1,401:1
check "scenario 503:1,401:1 then JWT accepted" eq "$(post "$U/v1/responses" -H "Authorization: Bearer $AT") $(post "$U/v1/responses" -H "Authorization: Bearer $AT") $(post "$U/v1/responses" -H "Authorization: Bearer $AT")" "503 401 200"
start iss6 fake_chatgpt_issuer.py --access-ttl -10 --seed-refresh-token rt_x
refresh "$U" rt_x >/dev/null; EXP_AT=$(j 'd["access_token"]')
check "--accept-jwt: expired access token -> 401" eq "$(post "$(awk '/^READY /{print $2}' "$TMP/api3.out")/v1/responses" -H "Authorization: Bearer $EXP_AT")" 401

echo "== --tls-cert/--tls-key: HTTPS with a private CA"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=selftest CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
  -keyout "$TMP/ca.key" -out "$TMP/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$TMP/srv.key" -out "$TMP/srv.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$TMP/srv.ext"
openssl x509 -req -in "$TMP/srv.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial -days 2 \
  -extfile "$TMP/srv.ext" -out "$TMP/srv.pem" 2>/dev/null
start tls fake_chatgpt_issuer.py --tls-cert "$TMP/srv.pem" --tls-key "$TMP/srv.key"
check "READY line says https" has "$U" '^https://127.0.0.1:'
check "authorize over TLS with the CA -> 302" eq "$(req --cacert "$TMP/ca.pem" "$(authorize_url "$U" "$CH")")" 302
curl --noproxy '*' -sS -o /dev/null "$U/codex/device" 2>/dev/null
check "without the CA curl refuses the certificate (60)" eq "$?" 60
check "  ... and the server still answers afterwards" eq "$(req --cacert "$TMP/ca.pem" "$U/codex/device")" 200

echo "== issuer: workload identity (jwt-bearer, assertions from tests/peers/oidc) and whoami"
OIDC_DIR="$HERE/../oidc"
if [ -d "$OIDC_DIR/node_modules" ]; then
  (cd "$OIDC_DIR" && exec node server.js >"$TMP/oidc.out" 2>"$TMP/oidc.err") &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q '^READY ' "$TMP/oidc.out" && break; sleep 0.05; done
  OIDC=$(awk '/^READY /{print $2}' "$TMP/oidc.out")
  start wif fake_chatgpt_issuer.py --wif-issuer "$OIDC" --federation-rule fr_ci \
    --federation-rule fr_pinned,sub=someone-else,account=acct_P --pat at-good --fedramp
  WIFU=$U
  idtoken() { curl --noproxy '*' -sS -H "Authorization: Bearer ${2:-actions-request-token}" \
    "$OIDC/_actions/idtoken?api-version=2.0&audience=$1"; }
  JB=urn:ietf:params:oauth:grant-type:jwt-bearer
  wif() { req "$WIFU/oauth/token" --data-urlencode grant_type=$JB --data-urlencode "assertion=$1" \
    --data-urlencode "federation_rule_id=$2" "${@:3}"; }
  TOK=$(idtoken "$WIFU" | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
  check "actions idtoken: a JWT with aud = the audience asked for" eq \
    "$(claims "$TOK" | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["aud"], c["iss"])')" "$WIFU $OIDC"
  check "actions idtoken without the request token -> 401" eq \
    "$(curl --noproxy '*' -sS -o /dev/null -w '%{http_code}' "$OIDC/_actions/idtoken?api-version=2.0&audience=x")" 401
  check "jwt-bearer valid -> 200" eq "$(wif "$TOK" fr_ci)" 200
  check "  ... the answer's fields" eq "$(j '(d["issued_token_type"], d["token_type"], d["expires_in"], d["chatgpt_account_id"], d["chatgpt_account_user_id"], d["user_id"], d["chatgpt_plan_type"])')" \
    "('urn:ietf:params:oauth:token-type:access_token', 'Bearer', 3600, 'acct_fake_1', 'user-fake-1__acct_fake_1', 'user-fake-1', 'pro')"
  check "  ... with workload_identity_context -> 200" eq "$(wif "$TOK" fr_ci --data-urlencode workload_identity_context=ctx)" 200
  check "unknown rule -> 400 invalid_grant" eq "$(wif "$TOK" fr_nope) $(j 'd["error"]')" "400 invalid_grant"
  check "rule whose sub does not match -> 403" eq "$(wif "$TOK" fr_pinned)" 403
  BADSIG=$(python3 -c 'import sys; h,p,s=sys.argv[1].split("."); print(h+"."+p+"."+("A" if s[0]!="A" else "B")+s[1:])' "$TOK")
  check "tampered signature -> 400" eq "$(wif "$BADSIG" fr_ci) $(j 'd["error_description"]')" "400 assertion rejected: the assertion's signature does not verify"
  FORGED=$(python3 -c 'import base64,json,sys; h,p,s=sys.argv[1].split("."); c=json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4))); c["sub"]="root"
print(h+"."+base64.urlsafe_b64encode(json.dumps(c).encode()).rstrip(b"=").decode()+"."+s)' "$TOK")
  check "changed payload -> 400" eq "$(wif "$FORGED" fr_ci)" 400
  NONE=$(python3 -c 'import base64,sys; h,p,s=sys.argv[1].split("."); print(base64.urlsafe_b64encode(b"{\"alg\":\"none\"}").rstrip(b"=").decode()+"."+p+".")' "$TOK")
  check "alg none -> 400" eq "$(wif "$NONE" fr_ci) $(j 'd["error_description"]')" "400 assertion rejected: unsupported alg 'none' (only RS256)"
  OTHER=$(idtoken https://elsewhere.example | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
  check "wrong audience -> 400" eq "$(wif "$OTHER" fr_ci)" 400
  check "JSON body -> 400" eq "$(req "$WIFU/oauth/token" -H 'Content-Type: application/json' -d "{\"grant_type\":\"$JB\"}")" 400
  check "missing federation_rule_id -> 400" eq "$(req "$WIFU/oauth/token" --data-urlencode grant_type=$JB --data-urlencode "assertion=$TOK")" 400
  check "whoami with a known at- token" eq "$(req "$WIFU/api/accounts/v1/user-auth-credential/whoami" -H 'Authorization: Bearer at-good') $(j '(d["email"], d["chatgpt_account_id"], d["chatgpt_account_is_fedramp"])')" \
    "200 ('user@example.com', 'acct_fake_1', True)"
  check "whoami with an unknown token -> 401" eq "$(req "$WIFU/api/accounts/v1/user-auth-credential/whoami" -H 'Authorization: Bearer at-bad')" 401
  check "stats count jwt_bearer and whoami" eq "$(req "$WIFU/_fake/stats" >/dev/null; j '(d["grants"]["jwt_bearer"], d["grants"]["whoami"])')" "(9, 2)"
  start wif2 fake_chatgpt_issuer.py --wif-issuer "$OIDC" --federation-rule fr_ci --scenario wif-other-account:1,wif-redirect:1
  WIFU=$U
  TOK=$(idtoken "$WIFU" | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
  check "scenario wif-other-account" eq "$(wif "$TOK" fr_ci) $(j 'd["chatgpt_account_id"]')" "200 acct_fake_1-other"
  check "scenario wif-redirect -> 307 to /leak" eq "$(curl --noproxy '*' -sS -o /dev/null -w '%{http_code} %{redirect_url}' "$WIFU/oauth/token" --data-urlencode grant_type=$JB --data-urlencode "assertion=$TOK" --data-urlencode federation_rule_id=fr_ci)" "307 $WIFU/leak"
else
  echo "skip (run npm ci in tests/peers/oidc first)"
fi

echo
if [ "$FAIL" = 0 ]; then echo "selftest: all passed"; else echo "selftest: FAILURES"; fi
exit "$FAIL"

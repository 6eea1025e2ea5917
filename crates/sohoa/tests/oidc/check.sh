#!/usr/bin/env bash
# End-to-end check of provider.mjs using only curl, openssl and standard tools.
# Exits 0 only when the whole authorization-code + PKCE flow works and the
# ID token and userinfo carry the expected claims.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
PID=""

cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -s "$WORK/provider.err" ]; then
    echo "---- provider stderr (tail) ----" >&2
    tail -n 30 "$WORK/provider.err" >&2
  fi
  exit 1
}
ok() { echo "ok: $*"; }

b64url_decode() {
  local s="${1//-/+}"
  s="${s//_//}"
  case $(( ${#s} % 4 )) in
    2) s="$s==" ;;
    3) s="$s=" ;;
  esac
  printf '%s' "$s" | openssl base64 -d -A
}

# JSON field extraction without jq: use node (already required for the provider).
json_get() { # json_get <file> <field>
  node -e '
    const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]];
    if (v === undefined) process.exit(3);
    process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
  ' "$1" "$2"
}

CLIENT_ID="sohoa-test-client"
CLIENT_SECRET="sohoa-test-secret-$(openssl rand -hex 8)"
REDIRECT_URI="http://127.0.0.1:9/auth/oidc/callback"
SUB="user-42"
CCCD="001203004567"

# ---- start the provider on a free port ---------------------------------------
OIDC_PORT=0 OIDC_CLIENT_ID="$CLIENT_ID" OIDC_CLIENT_SECRET="$CLIENT_SECRET" \
OIDC_REDIRECT_URI="$REDIRECT_URI" OIDC_SUB="$SUB" OIDC_CCCD="$CCCD" \
  node "$HERE/provider.mjs" >"$WORK/provider.out" 2>"$WORK/provider.err" &
PID=$!

ISSUER=""
for _ in $(seq 1 100); do
  if line="$(head -n 1 "$WORK/provider.out" 2>/dev/null)" && [[ "$line" == listening\ * ]]; then
    ISSUER="${line#listening }"
    break
  fi
  kill -0 "$PID" 2>/dev/null || fail "provider exited early"
  sleep 0.1
done
[ -n "$ISSUER" ] || fail "provider did not print its listening line"
[[ "$ISSUER" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "unexpected listening line: $line"
ok "provider listening at $ISSUER"

# ---- discovery ------------------------------------------------------------
curl -sSf "$ISSUER/.well-known/openid-configuration" -o "$WORK/discovery.json" || fail "discovery request failed"
[ "$(json_get "$WORK/discovery.json" issuer)" = "$ISSUER" ] || fail "discovery issuer mismatch"
AUTHZ="$(json_get "$WORK/discovery.json" authorization_endpoint)"
TOKEN_EP="$(json_get "$WORK/discovery.json" token_endpoint)"
USERINFO_EP="$(json_get "$WORK/discovery.json" userinfo_endpoint)"
ok "discovery: authorization=$AUTHZ token=$TOKEN_EP userinfo=$USERINFO_EP"

# ---- PKCE -----------------------------------------------------------------
VERIFIER="$(openssl rand -base64 48 | tr -d '\n=' | tr '+/' '-_')"
CHALLENGE="$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | openssl base64 -A | tr -d '=' | tr '+/' '-_')"
STATE="st-$(openssl rand -hex 12)"
NONCE="nn-$(openssl rand -hex 12)"

# PKCE must be required: a request without code_challenge must not yield a code.
NOPKCE_LOC="$(curl -sS -o /dev/null -w '%{redirect_url}' -G "$AUTHZ" \
  --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "response_type=code" \
  --data-urlencode "scope=openid cccd" --data-urlencode "redirect_uri=$REDIRECT_URI" \
  --data-urlencode "state=x")"
[[ "$NOPKCE_LOC" == "$REDIRECT_URI?"*"error=invalid_request"* ]] || fail "request without PKCE was not rejected: $NOPKCE_LOC"
ok "request without PKCE rejected"

# ---- authorization request, followed hop by hop with a cookie jar ----------
JAR="$WORK/cookies.txt"
URL="$(node -e '
  const [base, ...kv] = process.argv.slice(1);
  const u = new URL(base);
  for (let i = 0; i < kv.length; i += 2) u.searchParams.set(kv[i], kv[i + 1]);
  process.stdout.write(u.href);
' "$AUTHZ" client_id "$CLIENT_ID" response_type code scope "openid cccd" \
  redirect_uri "$REDIRECT_URI" state "$STATE" nonce "$NONCE" \
  code_challenge "$CHALLENGE" code_challenge_method S256)"
[ -n "$URL" ] || fail "could not build authorization URL"

LOCATION=""
for hop in $(seq 1 10); do
  HDRS="$(curl -sS -o /dev/null -D - -c "$JAR" -b "$JAR" "$URL")" || fail "hop $hop: request to $URL failed"
  STATUS="$(printf '%s' "$HDRS" | head -n 1 | awk '{print $2}')"
  LOCATION="$(printf '%s' "$HDRS" | tr -d '\r' | awk 'tolower($1)=="location:" {print $2}')"
  echo "hop $hop: $STATUS ${URL%%\?*} -> ${LOCATION%%\?*}"
  if [ -n "${CHECK_VERBOSE:-}" ]; then
    printf '%s\n' "$HDRS" | tr -d '\r' | grep -i '^set-cookie:' | sed 's/^/      /' || true
  fi
  [[ "$STATUS" =~ ^30[123]$ ]] || fail "hop $hop: expected a redirect, got $STATUS"
  [ -n "$LOCATION" ] || fail "hop $hop: no Location header"
  case "$LOCATION" in
    "$REDIRECT_URI?"*) break ;;
    http://*|https://*) URL="$LOCATION" ;;
    /*) URL="$ISSUER$LOCATION" ;;
    *) fail "hop $hop: unexpected Location $LOCATION" ;;
  esac
done
[[ "$LOCATION" == "$REDIRECT_URI?"* ]] || fail "never redirected to $REDIRECT_URI (last: $LOCATION)"

query_param() { # query_param <url> <name>
  node -e 'const v = new URL(process.argv[1]).searchParams.get(process.argv[2]); if (v === null) process.exit(3); process.stdout.write(v);' "$1" "$2"
}
CODE="$(query_param "$LOCATION" code)" || fail "no code in callback: $LOCATION"
GOT_STATE="$(query_param "$LOCATION" state)" || fail "no state in callback: $LOCATION"
[ "$GOT_STATE" = "$STATE" ] || fail "state mismatch: $GOT_STATE != $STATE"
if GOT_ISS="$(query_param "$LOCATION" iss)"; then
  [ "$GOT_ISS" = "$ISSUER" ] || fail "iss in callback mismatch: $GOT_ISS"
fi
ok "callback has code and matching state${GOT_ISS:+ (iss=$GOT_ISS)}"

# ---- token exchange (client_secret_basic + code_verifier) -----------------
# A wrong code_verifier must be rejected (PKCE is actually enforced).
HTTP="$(curl -sS -o "$WORK/bad.json" -w '%{http_code}' -u "$CLIENT_ID:$CLIENT_SECRET" \
  --data-urlencode "grant_type=authorization_code" --data-urlencode "code=$CODE" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" \
  --data-urlencode "code_verifier=$(openssl rand -hex 32)" \
  "$TOKEN_EP")"
[ "$HTTP" = "400" ] || fail "wrong code_verifier returned $HTTP, expected 400"
ok "wrong code_verifier rejected: $(cat "$WORK/bad.json")"

HTTP="$(curl -sS -o "$WORK/token.json" -w '%{http_code}' -u "$CLIENT_ID:$CLIENT_SECRET" \
  --data-urlencode "grant_type=authorization_code" \
  --data-urlencode "code=$CODE" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" \
  --data-urlencode "code_verifier=$VERIFIER" \
  "$TOKEN_EP")"
[ "$HTTP" = "200" ] || fail "token endpoint returned $HTTP: $(cat "$WORK/token.json")"
ID_TOKEN="$(json_get "$WORK/token.json" id_token)" || fail "no id_token"
ACCESS_TOKEN="$(json_get "$WORK/token.json" access_token)" || fail "no access_token"
ok "token endpoint returned id_token and access_token"

IFS=. read -r JWT_H JWT_P _JWT_S <<<"$ID_TOKEN"
b64url_decode "$JWT_H" >"$WORK/idt_header.json"
b64url_decode "$JWT_P" >"$WORK/idt_payload.json"
[ "$(json_get "$WORK/idt_header.json" alg)" = "RS256" ] || fail "id_token alg is not RS256"
[ "$(json_get "$WORK/idt_payload.json" iss)" = "$ISSUER" ] || fail "id_token iss mismatch"
[ "$(json_get "$WORK/idt_payload.json" aud)" = "$CLIENT_ID" ] || fail "id_token aud mismatch"
[ "$(json_get "$WORK/idt_payload.json" nonce)" = "$NONCE" ] || fail "id_token nonce mismatch"
[ "$(json_get "$WORK/idt_payload.json" sub)" = "$SUB" ] || fail "id_token sub mismatch"
[ "$(json_get "$WORK/idt_payload.json" cccd)" = "$CCCD" ] || fail "id_token cccd mismatch"
ok "id_token (RS256): $(cat "$WORK/idt_payload.json")"

# ---- userinfo -------------------------------------------------------------
HTTP="$(curl -sS -o "$WORK/userinfo.json" -w '%{http_code}' -H "Authorization: Bearer $ACCESS_TOKEN" "$USERINFO_EP")"
[ "$HTTP" = "200" ] || fail "userinfo returned $HTTP: $(cat "$WORK/userinfo.json")"
[ "$(json_get "$WORK/userinfo.json" sub)" = "$SUB" ] || fail "userinfo sub mismatch"
[ "$(json_get "$WORK/userinfo.json" cccd)" = "$CCCD" ] || fail "userinfo cccd mismatch"
ok "userinfo: $(cat "$WORK/userinfo.json")"

# Replaying the code must fail (this also revokes the tokens issued for it).
HTTP="$(curl -sS -o /dev/null -w '%{http_code}' -u "$CLIENT_ID:$CLIENT_SECRET" \
  --data-urlencode "grant_type=authorization_code" --data-urlencode "code=$CODE" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "code_verifier=$VERIFIER" \
  "$TOKEN_EP")"
[ "$HTTP" = "400" ] || fail "code replay returned $HTTP, expected 400"
ok "code replay rejected"
HTTP="$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ACCESS_TOKEN" "$USERINFO_EP")"
[ "$HTTP" = "401" ] || fail "access token still valid after code replay ($HTTP)"
ok "access token revoked after code replay"

# ---- stop -----------------------------------------------------------------
kill -TERM "$PID"
RC=0
wait "$PID" || RC=$?
PID=""
[ "$RC" = "0" ] || fail "provider exited with $RC on SIGTERM"
[ "$(wc -l <"$WORK/provider.out")" = "1" ] || fail "provider wrote more than one line to stdout"
ok "provider stopped cleanly on SIGTERM"
echo "PASS"

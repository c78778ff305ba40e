#!/usr/bin/env bash
# Tessera from the command line with curl and jq: discovery, the JWKS, a client_credentials
# token, introspection, revocation. With the demo (serve --demo):
#   ISSUER=http://127.0.0.1:8080 CLIENT_ID=demo-app CLIENT_SECRET=<printed secret> bash examples/curl/tour.sh
set -euo pipefail
: "${ISSUER:=http://127.0.0.1:8080}" "${CLIENT_ID:?}" "${CLIENT_SECRET:?}"

# Discovery names every endpoint; the JWKS holds the public keys that verify tokens.
config=$(curl -fsS "$ISSUER/.well-known/openid-configuration")
token_endpoint=$(jq -r .token_endpoint <<<"$config")
curl -fsS "$(jq -r .jwks_uri <<<"$config")" | jq -r '.keys[] | "key \(.kid) \(.alg)"'

# A token for the client itself (client_secret_basic).
token=$(curl -fsS -u "$CLIENT_ID:$CLIENT_SECRET" "$token_endpoint" \
    -d grant_type=client_credentials | jq -r .access_token)
echo "access token: ${token:0:24}…"

# What the token says, asked as the same client; then revoke it and ask again.
curl -fsS -u "$CLIENT_ID:$CLIENT_SECRET" "$(jq -r .introspection_endpoint <<<"$config")" \
    -d token="$token" | jq -c '{active, client_id, scope, exp}'
curl -fsS -u "$CLIENT_ID:$CLIENT_SECRET" "$(jq -r .revocation_endpoint <<<"$config")" \
    -d token="$token" -d token_type_hint=access_token
curl -fsS -u "$CLIENT_ID:$CLIENT_SECRET" "$(jq -r .introspection_endpoint <<<"$config")" \
    -d token="$token" | jq -c '{active}'

#!/usr/bin/env bash
# Runs the Tessera Postman collection with the pinned newman against a running Tessera.
# Usage: bash examples/postman/run.sh ISSUER CLIENT_SECRET PASSWORD
# (the values `tessera serve --demo` prints). Exits non-zero if any request or test fails.
set -euo pipefail
if [ "$#" -ne 3 ]; then
    echo "usage: $0 ISSUER CLIENT_SECRET PASSWORD" >&2
    exit 2
fi
cd "$(dirname "$0")"
[ -x node_modules/.bin/newman ] || npm ci --no-audit --no-fund
exec npx --no -- newman run tessera.postman_collection.json \
    --environment tessera.postman_environment.json \
    --env-var "issuer=${1%/}" \
    --env-var "client_secret=$2" \
    --env-var "password=$3"

#!/usr/bin/env bash
# Generates a typed TypeScript client from a running server's OpenAPI document, compiles a
# program written against it under `tsc --strict`, and runs the README walk-through with it.
#
#   ADMIN_EMAIL=admin@example.com ADMIN_PASSWORD=… bash clients/ts/run.sh http://127.0.0.1:8080
#
# Fails (non-zero) when the spec cannot be fetched or generated from, when the program no longer
# compiles against it, or when any check of the walk-through fails.
set -euo pipefail

die() { echo "run.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: bash clients/ts/run.sh BASE_URL   (env: ADMIN_EMAIL, ADMIN_PASSWORD)"
BASE_URL="${1%/}"
: "${ADMIN_EMAIL:?run.sh: set ADMIN_EMAIL (the bootstrap admin of the server under test)}"
: "${ADMIN_PASSWORD:?run.sh: set ADMIN_PASSWORD}"

cd "$(dirname "${BASH_SOURCE[0]}")"
command -v node >/dev/null || die "node (20+) is not installed"
command -v npm >/dev/null || die "npm is not installed"
command -v curl >/dev/null || die "curl is not installed"

if [ ! -d node_modules ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
fi

echo "== fetch $BASE_URL/api-docs/openapi.json"
curl --fail --silent --show-error --max-time 30 --retry 5 --retry-connrefused --retry-delay 1 \
  -o served-openapi.json "$BASE_URL/api-docs/openapi.json" \
  || die "could not fetch the served spec from $BASE_URL/api-docs/openapi.json"
node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (typeof d.openapi !== "string" || !d.openapi.startsWith("3.1")) { console.error("not an OpenAPI 3.1 document: openapi = " + d.openapi); process.exit(1); }' \
  served-openapi.json || die "the served document is not OpenAPI 3.1 JSON"

echo "== openapi-typescript → src/schema.d.ts"
rm -f src/schema.d.ts
npx --no-install openapi-typescript served-openapi.json -o src/schema.d.ts \
  || die "openapi-typescript could not generate types from the served spec"

echo "== tsc --strict"
rm -rf dist
npx --no-install tsc -p . || die "the typed client program does not compile against the served spec"

echo "== walk-through"
BASE_URL="$BASE_URL" ADMIN_EMAIL="$ADMIN_EMAIL" ADMIN_PASSWORD="$ADMIN_PASSWORD" SPEC_FILE="$PWD/served-openapi.json" \
  node dist/walkthrough.js

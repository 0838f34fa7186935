#!/usr/bin/env bash
# Installs n8n (the version the throughput issue measured) for the side-by-side
# engine benchmark, from the npm registry only, into $N8N_DIR
# (default /var/cache/katalusis/n8n, outside the checkout).
#
# Two of its dependencies are not fetched from a registry by default, and
# this host reaches none but the package registries:
#  - `xlsx` is pinned to a tarball on cdn.sheetjs.com: overridden with the
#    registry's last release of it (n8n's spreadsheet nodes are not used here);
#  - `sqlite3` downloads a prebuilt binary from GitHub: built from its bundled
#    sources against the local Node headers instead.
set -euo pipefail
N8N_VERSION="${N8N_VERSION:-2.8.4}"
N8N_DIR="${N8N_DIR:-/var/cache/katalusis/n8n}"
mkdir -p "$N8N_DIR"
cd "$N8N_DIR"
if [ -x node_modules/.bin/n8n ] && [ -f node_modules/sqlite3/build/Release/node_sqlite3.node ] \
  && grep -q "\"version\": \"$N8N_VERSION\"" node_modules/n8n/package.json; then
  echo "n8n $N8N_VERSION is installed in $N8N_DIR"
  exit 0
fi
cat > package.json <<EOF
{ "name": "katalusis-n8n-bench", "private": true,
  "dependencies": { "n8n": "$N8N_VERSION" },
  "overrides": { "xlsx": "0.18.5" } }
EOF
npm install --no-audit --no-fund --loglevel=error --ignore-scripts
NODE_DIR="$(dirname "$(dirname "$(command -v node)")")"
GYP="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
(cd node_modules/sqlite3 && node "$GYP" rebuild --nodedir="$NODE_DIR" >/dev/null)
test -f node_modules/sqlite3/build/Release/node_sqlite3.node
echo "n8n $N8N_VERSION installed in $N8N_DIR"

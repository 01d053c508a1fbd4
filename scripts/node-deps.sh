#!/usr/bin/env bash
# Install the npm packages pinned in dashboards/package-lock.json (TypeScript and Grafana's @grafana/schema,
# for the dashboard schema test, tests/dashboards/test_grafana_schema.py) into DIR/node_modules
# (default .venv/node, outside the Python package). Does nothing when DIR holds an install of the same
# lock file, so `make test` pays for it once. Usage: scripts/node-deps.sh [DIR]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$repo/.venv/node}
lock=$repo/dashboards/package-lock.json
mkdir -p "$dir"
exec 9>"$dir/.install-lock"
flock 9  # parallel test workers wait for one install
if cmp -s "$lock" "$dir/installed-package-lock.json" && [ -d "$dir/node_modules" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: scripts/install-system-deps.sh installs Debian's nodejs and npm" >&2
  exit 1
fi
echo "Installing TypeScript and @grafana/schema (dashboards/package-lock.json) into $dir with npm ci:" \
  "about 20 s the first time, nothing after ..." >&2
rm -f "$dir/installed-package-lock.json"
cp "$repo/dashboards/package.json" "$lock" "$dir/"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
cp "$lock" "$dir/installed-package-lock.json"

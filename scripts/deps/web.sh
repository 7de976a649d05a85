#!/usr/bin/env bash
# npm packages of the web UI test (tests/web/package.json: playwright-core, which
# drives Debian's /usr/bin/chromium; it downloads no browser of its own).
# Installed from the lockfile into tests/web/node_modules; quick when up to date.
set -euo pipefail
cd "$(dirname "$0")/../../tests/web"
if ! command -v npm >/dev/null; then
    echo "setup: npm missing (apt-get install npm, or Node.js with npm)" >&2
    exit 1
fi
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
    exit 0
fi
echo "setup: installing the web UI test's npm packages"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null

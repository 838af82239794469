#!/usr/bin/env bash
# Installs Debian's Chromium and its WebDriver for the dashboard's browser tests
# (make browser-tools). Idempotent: does nothing when both are already on the PATH.
# Selenium itself comes from PyPI with the dev extras; it drives /usr/bin/chromedriver and never
# downloads a browser or driver of its own.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi

here="$(dirname "$0")"
command -v chromium >/dev/null 2>&1 || bash "$here/../debian-install.sh" browser-tools chromium
command -v chromedriver >/dev/null 2>&1 || bash "$here/../debian-install.sh" browser-tools chromium-driver
command -v chromium >/dev/null && command -v chromedriver >/dev/null

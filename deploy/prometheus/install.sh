#!/usr/bin/env bash
# Installs Prometheus and promtool from Debian for the operations tests (make prometheus-tools).
# Idempotent: does nothing when both are already on the PATH.
#
# The Debian package also installs a prometheus service; the tests do not use it (they start
# their own server on a free loopback port), and in containers policy-rc.d keeps it stopped.
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "prometheus-tools: promtool is missing and installing it needs root:" >&2
    echo "  apt-get update && apt-get install -y prometheus" >&2
    exit 1
fi

echo "prometheus-tools: installing Debian's prometheus package (prometheus, promtool)"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
command -v promtool >/dev/null && command -v prometheus >/dev/null

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

bash "$(dirname "$0")/../debian-install.sh" prometheus-tools prometheus
command -v promtool >/dev/null && command -v prometheus >/dev/null

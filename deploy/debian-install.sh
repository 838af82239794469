#!/usr/bin/env bash
# Installs one Debian package for the test suite's tools: debian-install.sh LABEL PACKAGE.
# As root, or with passwordless sudo; otherwise prints the command to run and fails.
set -euo pipefail
label=$1
package=$2

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "$label: $package is missing and installing it needs root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends $package" >&2
    exit 1
fi

echo "$label: installing Debian's $package package"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package"

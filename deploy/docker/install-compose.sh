#!/usr/bin/env bash
# Installs Debian's docker-compose (Compose 1.29, Python) for tests/unit/test_compose.py (make
# compose-tool): its `config` command validates docker-compose.yml against the Compose
# Specification schema it ships and resolves the file, with no Docker engine. Idempotent: does
# nothing when `docker compose` or `docker-compose` already runs.
set -euo pipefail

if command -v docker-compose >/dev/null 2>&1; then
    exit 0
fi
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "compose-tool: docker-compose is missing and installing it needs root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends docker-compose" >&2
    exit 1
fi

echo "compose-tool: installing Debian's docker-compose package (no Docker engine)"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose
command -v docker-compose >/dev/null

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

bash "$(dirname "$0")/../debian-install.sh" compose-tool docker-compose
command -v docker-compose >/dev/null

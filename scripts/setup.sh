#!/usr/bin/env bash
# npm run setup: install pinned dependencies and make sure redis-server exists.
set -euo pipefail
cd "$(dirname "$0")/.."

need_redis() { ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; }

if need_redis; then
  echo "setup: redis-server not found, installing it"
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "setup: run as root or install redis: apt-get install -y redis-server redis-tools" >&2; exit 1
      fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
    # The Debian package starts a system service on 6379; Lingua starts its own servers.
    ($SUDO systemctl disable --now redis-server >/dev/null 2>&1 || $SUDO service redis-server stop >/dev/null 2>&1) || true
  elif command -v brew >/dev/null 2>&1; then
    brew install redis
  else
    echo "setup: install Redis >= 7 (redis-server and redis-cli on PATH), then run npm run setup again" >&2
    exit 1
  fi
fi
echo "setup: $(redis-server --version | cut -d' ' -f1-3)"

if [ "${LINGUA_SETUP_BROWSER:-auto}" != "0" ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  # The dashboard browser test drives Debian's Chromium through playwright-core.
  echo "setup: installing chromium for the dashboard browser test"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || echo "setup: chromium not installed (browser test will report it)"
fi

npm ci --no-audit --no-fund
echo "setup: done"

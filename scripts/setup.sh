#!/usr/bin/env bash
# npm run setup: install pinned dependencies and the system tools the project runs with:
# redis-server/redis-cli (always) and Chromium (for the dashboard browser test).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
if [ "${LINGUA_SETUP_BROWSER:-1}" != "0" ] && ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "setup: run as root, or install them yourself: apt-get install -y ${missing[*]}" >&2; exit 1
      fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    # The Debian package may start a system Redis on 6379; Lingua starts its own servers.
    ($SUDO systemctl disable --now redis-server >/dev/null 2>&1 || $SUDO service redis-server stop >/dev/null 2>&1) || true
  elif command -v brew >/dev/null 2>&1; then
    brew install redis
    command -v chromium >/dev/null 2>&1 || echo "setup: install Chromium for the browser test (brew install --cask chromium)"
  else
    echo "setup: install Redis >= 7 (redis-server and redis-cli on PATH) and Chromium, then run npm run setup again" >&2
    exit 1
  fi
fi
echo "setup: $(redis-server --version | cut -d' ' -f1-3)"
command -v chromium >/dev/null 2>&1 && echo "setup: $(chromium --version 2>/dev/null | head -1)"

npm ci --no-audit --no-fund
echo "setup: done"

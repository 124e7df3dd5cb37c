#!/usr/bin/env bash
# Installs what the app needs into .venv (Python packages) and node_modules (htmx).
# Sourced by scripts/run and scripts/test; safe to run again (it only adds what is missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
extras=${1:-}
stamp=".venv/.installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
  touch "$stamp"
fi
if [ ! -f node_modules/htmx.org/dist/htmx.min.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: npm not found; installing Node.js from the distribution's packages" >&2
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  fi
  npm ci --no-audit --no-fund --loglevel=error
fi

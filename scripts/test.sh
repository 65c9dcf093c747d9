#!/usr/bin/env bash
# One command to install and run the whole test suite, plus the lint and migration checks.
# Uses SQLite and the in-memory channel layer unless DATABASE_URL / REDIS_URL are set.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "==> installing chromium for browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Browser tests need /usr/bin/chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
fi
echo "==> ruff"
.venv/bin/python -m ruff check .
echo "==> migrations are committed"
DEBUG=1 .venv/bin/python manage.py makemigrations --check --dry-run >/dev/null || {
  echo "A model change has no migration: run 'manage.py makemigrations'." >&2
  exit 1
}
echo "==> pytest (database: ${DATABASE_URL:-sqlite}, redis: ${REDIS_URL:-none})"
exec .venv/bin/python -m pytest "$@"

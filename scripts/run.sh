#!/usr/bin/env bash
# One command to try Relay: install, migrate SQLite, load demo data, start web + worker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export DEBUG="${DEBUG:-1}"
export PORT="${PORT:-8000}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://localhost:$PORT}"
export PATH="$PWD/.venv/bin:$PATH"
python manage.py migrate --noinput
python manage.py load_demo
cat <<TXT

  Relay is starting (web, worker, ingest).
    Console:    http://localhost:$PORT/
    Admin:      http://localhost:$PORT/admin/
    Demo shop:  http://localhost:$PORT/demo/shop/
    Health:     http://localhost:$PORT/healthz
  Logins are listed above by load_demo. Stop with Ctrl-C.

TXT
exec honcho start -f Procfile web worker ingest

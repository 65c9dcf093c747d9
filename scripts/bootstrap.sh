#!/usr/bin/env bash
# Creates .venv and installs the project into it (with test tools when called with "dev").
# Re-running is cheap: it reinstalls only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
python_bin="$(command -v python3.11 || command -v python3)"
if ! "$python_bin" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
  echo "Relay needs Python 3.11 (found $("$python_bin" --version))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$python_bin" -m venv .venv
fi
stamp=".venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)${extra:+-$extra}"
if [ ! -f "$stamp" ]; then
  echo "==> installing dependencies${extra:+ ($extra)}"
  target="."
  [ "$extra" = "dev" ] && target=".[dev]"
  # Some machines' pip configuration names missing local indexes; hide that noise only.
  log="$(mktemp)"
  status=0
  {
    .venv/bin/python -m pip install --quiet --upgrade pip &&
      .venv/bin/python -m pip install --quiet -e "$target"
  } >"$log" 2>&1 || status=$?
  grep -v -e "is ignored: it is neither a file nor a directory" "$log" || true
  rm -f "$log"
  if [ "$status" != 0 ]; then
    echo "Installing dependencies failed (see above)." >&2
    exit "$status"
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi

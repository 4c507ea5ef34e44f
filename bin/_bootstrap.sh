# Sourced by bin/start and bin/test: find Python 3.12+, make .venv, install
# requirements.txt when it changed. Leaves $VENV_PY set.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

python_ok() {
  # A pyenv shim answers to "python3.12" even when that version is not
  # selected, then fails: run it to be sure.
  "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
  local candidate
  if [ -n "${SM_PYTHON:-}" ]; then
    python_ok "$SM_PYTHON" && { echo "$SM_PYTHON"; return; }
    echo "SM_PYTHON=$SM_PYTHON is not a working Python 3.12 or newer." >&2
    return 1
  fi
  for candidate in python3.13 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$(command -v "$candidate")"; then
      command -v "$candidate"; return
    fi
  done
  local roots=()
  command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)")
  roots+=("${PYENV_ROOT:-$HOME/.pyenv}")
  for root in "${roots[@]}"; do
    for candidate in $(ls -d "$root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V); do
      python_ok "$candidate" && { echo "$candidate"; return; }
    done
  done
  for candidate in /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
    [ -x "$candidate" ] && python_ok "$candidate" && { echo "$candidate"; return; }
  done
  cat >&2 <<'MSG'
SIDEL ScriptsManager needs Python 3.12 or newer, and none was found.
Install one, for example:
  Debian/Ubuntu:  sudo apt-get install python3.12 python3.12-venv
  with pyenv:     pyenv install 3.12
or point SM_PYTHON at an interpreter:  SM_PYTHON=/path/to/python3.12 bin/start
MSG
  return 1
}

VENV="$ROOT/.venv"
VENV_PY="$VENV/bin/python"
if [ ! -x "$VENV_PY" ] || ! python_ok "$VENV_PY"; then
  PYTHON="$(find_python)"
  echo "Creating the virtual environment in .venv with $PYTHON"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV_PY" -m pip install --quiet --upgrade pip
fi

STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "Installing Python packages from requirements.txt"
  "$VENV_PY" -m pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$WANT" > "$STAMP"
fi
export VENV_PY

#!/usr/bin/env bash
# Set up everything from nothing: a virtual environment with the project and its
# test tools, Solara's front-end assets from the npm registry (so the page works
# offline), and Debian's chromium for the browser tests.  Idempotent.
#
#   bash scripts/setup.sh            # everything
#   SKIP_BROWSER=1 bash scripts/setup.sh   # no chromium (no browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    for cand in python3.12 python3 python; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            PY="$cand"; break
        fi
    done
fi
if [ -z "$PY" ]; then
    echo "setup: need Python 3.12 or newer (pyenv: 'pyenv install 3.12'; the repo's .python-version selects it)" >&2
    exit 2
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $("$PY" --version)"
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
echo "setup: installing migrants and its dependencies"
.venv/bin/python -m pip install -q -e ".[dev]"

echo "setup: installing Solara's front-end assets into the local CDN cache"
.venv/bin/python scripts/install_solara_assets.py

echo "setup: the page's Chinese web font (Noto Sans SC from npm, subset) into src/migrants/viz/public/fonts"
.venv/bin/python scripts/install_cjk_font.py

echo "setup: compiling the model's numerical kernels once (numba; cached, so no run waits for it)"
.venv/bin/python -m migrants.warm

if [ -z "${SKIP_BROWSER:-}" ]; then
    echo "setup: Debian chromium for the browser tests"
    bash scripts/install_browser.sh
fi
echo "setup: done. Run a scenario with: .venv/bin/migrants run"

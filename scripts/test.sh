#!/usr/bin/env bash
# Install (once) and run the whole test suite, integration tests on the tiny model included.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"` for the unit tests only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
echo "[lint] ruff check (pyproject.toml: line length 120)"
.venv/bin/ruff check --quiet .
export RAY_AUTH_MODE=disabled
command -v nvidia-smi >/dev/null 2>&1 || export DS_ACCELERATOR="${DS_ACCELERATOR:-cpu}"
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@" tests

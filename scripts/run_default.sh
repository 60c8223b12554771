#!/usr/bin/env bash
# Install (once) and run the Self-Taught loop on the embedded SmolLM2-135M-Instruct. Extra key=value
# arguments go to jobs/self_taught.py, e.g. `bash scripts/run_default.sh run.name=second`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python jobs/self_taught.py "$@"

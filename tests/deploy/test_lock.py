"""The image's pip layer, checked without Docker and without downloading a CUDA wheel: uv resolves pyproject.toml
again for the image's platform (CPython 3.11, manylinux_2_28 x86_64) and gets the committed lock, and the lock plus
the project resolve together with every dependency checked. Needs the package index (as CI's install does)."""
import re
import subprocess

import pytest

from judge_ray.deploy.pins import LOCK, STACK, lock_versions
from tests.helpers import REPO

pytestmark = pytest.mark.slow
UV = str(REPO / ".venv" / "bin" / "uv")


def test_the_lock_is_what_pyproject_resolves_to_for_the_image():
    check = subprocess.run(["bash", "scripts/lock.sh", "--check"], cwd=REPO, capture_output=True, text=True,
                           timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    print(check.stdout.strip())


def test_the_lock_and_the_project_install_together_with_dependencies_checked(tmp_path):
    """What the Dockerfile's two pip layers install, as one resolution: exactly the lock's pins and the project."""
    dry = subprocess.run([UV, "pip", "install", "--dry-run", "--python-version", "3.11", "--python-platform",
                          "x86_64-manylinux_2_28", "--target", str(tmp_path / "site"), "--no-progress",
                          "-r", str(LOCK), "."], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0, dry.stderr[-3000:]
    out = dry.stdout + dry.stderr
    planned = {k.lower().replace("_", "-"): v for k, v in re.findall(r"^ \+ ([A-Za-z0-9._-]+)==(\S+)", out, re.M)}
    locked = lock_versions((REPO / LOCK).read_text())
    assert re.search(r"^ \+ judge-ray @ file://", out, re.M) and f"Would install {len(locked) + 1} packages" in out
    assert planned == locked
    print("resolved for the image: " + ", ".join(f"{n} {locked[n]}" for n in STACK) + f" ({len(locked)} packages)")

